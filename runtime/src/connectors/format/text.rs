//! Values as text: CSV fields and printed rows, as Flink casts values to strings.

use super::{ColumnType, SerError};
use serde::ser::{self, Serialize, Serializer};
use std::fmt::{Display, Write as _};

/// How [`TextSer`] writes values.
pub(crate) struct TextStyle {
    /// Flink's print style: nested ROW `(a, b)`, ARRAY `[a, b]`, MAP `{k=v}`, TIMESTAMP(p)
    /// with p fraction digits; else CSV style: elements joined by `separator`.
    pub(crate) print: bool,
    /// The text of NULL.
    pub(crate) null: String,
    /// Between elements in CSV style.
    pub(crate) separator: String,
}

/// Writes one value as text. `hint` is the SQL type of a top-level column.
pub(crate) struct TextSer<'a> {
    pub(crate) out: &'a mut String,
    pub(crate) style: &'a TextStyle,
    pub(crate) hint: Option<ColumnType>,
}

impl<'a> TextSer<'a> {
    fn nested(&mut self) -> TextSer<'_> {
        TextSer { out: &mut *self.out, style: self.style, hint: None }
    }

    fn compound(self, open: &'static str, close: &'static str) -> TextSeq<'a> {
        let (open, close) = if self.style.print { (open, close) } else { ("", "") };
        self.out.push_str(open);
        TextSeq { ser: self, first: true, close }
    }

    fn float(self, v: f64, shortest: String) -> Result<(), SerError> {
        match self.hint {
            Some(ColumnType::Decimal { scale, .. }) if v.is_finite() => {
                let _ = write!(self.out, "{v:.*}", usize::from(scale));
            }
            _ => java_number(self.out, v, &shortest),
        }
        Ok(())
    }
}

macro_rules! display {
    ($($method:ident($ty:ty);)*) => {$(
        fn $method(self, v: $ty) -> Result<(), SerError> {
            let _ = write!(self.out, "{v}");
            Ok(())
        }
    )*};
}

impl<'a> Serializer for TextSer<'a> {
    type Ok = ();
    type Error = SerError;
    type SerializeSeq = TextSeq<'a>;
    type SerializeTuple = TextSeq<'a>;
    type SerializeTupleStruct = TextSeq<'a>;
    type SerializeTupleVariant = TextSeq<'a>;
    type SerializeMap = TextSeq<'a>;
    type SerializeStruct = TextSeq<'a>;
    type SerializeStructVariant = TextSeq<'a>;
    display! {
        serialize_bool(bool); serialize_i8(i8); serialize_i16(i16); serialize_i32(i32); serialize_i64(i64);
        serialize_i128(i128); serialize_u8(u8); serialize_u16(u16); serialize_u32(u32); serialize_u64(u64);
        serialize_u128(u128); serialize_char(char);
    }
    fn serialize_f32(self, v: f32) -> Result<(), SerError> {
        self.float(f64::from(v), format!("{:e}", v.abs()))
    }
    fn serialize_f64(self, v: f64) -> Result<(), SerError> {
        self.float(v, format!("{:e}", v.abs()))
    }
    fn serialize_str(self, v: &str) -> Result<(), SerError> {
        self.collect_str(v)
    }
    fn collect_str<T: ?Sized + Display>(self, v: &T) -> Result<(), SerError> {
        let start = self.out.len();
        let _ = write!(self.out, "{v}");
        if self.style.print
            && let Some(ColumnType::Timestamp(p) | ColumnType::TimestampLtz(p) | ColumnType::Time(p)) = self.hint
        {
            fix_fraction(self.out, start, p);
        }
        Ok(())
    }
    fn serialize_bytes(self, v: &[u8]) -> Result<(), SerError> {
        let mut seq = self.compound("[", "]");
        for b in v {
            ser::SerializeSeq::serialize_element(&mut seq, b)?;
        }
        ser::SerializeSeq::end(seq)
    }
    fn serialize_none(self) -> Result<(), SerError> {
        self.out.push_str(&self.style.null);
        Ok(())
    }
    fn serialize_some<T: ?Sized + Serialize>(self, v: &T) -> Result<(), SerError> {
        v.serialize(self)
    }
    fn serialize_unit(self) -> Result<(), SerError> {
        Ok(())
    }
    fn serialize_unit_struct(self, _: &'static str) -> Result<(), SerError> {
        Ok(())
    }
    fn serialize_unit_variant(self, _: &'static str, _: u32, variant: &'static str) -> Result<(), SerError> {
        self.out.push_str(variant);
        Ok(())
    }
    fn serialize_newtype_struct<T: ?Sized + Serialize>(self, _: &'static str, v: &T) -> Result<(), SerError> {
        v.serialize(self)
    }
    fn serialize_newtype_variant<T: ?Sized + Serialize>(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        v: &T,
    ) -> Result<(), SerError> {
        v.serialize(self)
    }
    fn serialize_seq(self, _: Option<usize>) -> Result<TextSeq<'a>, SerError> {
        Ok(self.compound("[", "]"))
    }
    fn serialize_tuple(self, _: usize) -> Result<TextSeq<'a>, SerError> {
        Ok(self.compound("(", ")"))
    }
    fn serialize_tuple_struct(self, _: &'static str, _: usize) -> Result<TextSeq<'a>, SerError> {
        Ok(self.compound("(", ")"))
    }
    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<TextSeq<'a>, SerError> {
        Ok(self.compound("(", ")"))
    }
    fn serialize_map(self, _: Option<usize>) -> Result<TextSeq<'a>, SerError> {
        Ok(self.compound("{", "}"))
    }
    fn serialize_struct(self, _: &'static str, _: usize) -> Result<TextSeq<'a>, SerError> {
        Ok(self.compound("(", ")"))
    }
    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<TextSeq<'a>, SerError> {
        Ok(self.compound("(", ")"))
    }
}

/// The elements of a nested value being written by [`TextSer`].
pub(crate) struct TextSeq<'a> {
    ser: TextSer<'a>,
    first: bool,
    close: &'static str,
}

impl TextSeq<'_> {
    fn element<T: ?Sized + Serialize>(&mut self, v: &T) -> Result<(), SerError> {
        if !self.first {
            let sep = if self.ser.style.print { ", " } else { self.ser.style.separator.as_str() };
            self.ser.out.push_str(sep);
        }
        self.first = false;
        v.serialize(self.ser.nested())
    }

    fn finish(self) -> Result<(), SerError> {
        self.ser.out.push_str(self.close);
        Ok(())
    }
}

macro_rules! text_compound {
    ($($trait:ident :: $method:ident;)*) => {$(
        impl ser::$trait for TextSeq<'_> {
            type Ok = ();
            type Error = SerError;
            fn $method<T: ?Sized + Serialize>(&mut self, v: &T) -> Result<(), SerError> {
                self.element(v)
            }
            fn end(self) -> Result<(), SerError> {
                self.finish()
            }
        }
    )*};
}

text_compound! {
    SerializeSeq::serialize_element;
    SerializeTuple::serialize_element;
    SerializeTupleStruct::serialize_field;
    SerializeTupleVariant::serialize_field;
}

impl ser::SerializeStruct for TextSeq<'_> {
    type Ok = ();
    type Error = SerError;
    fn serialize_field<T: ?Sized + Serialize>(&mut self, _: &'static str, v: &T) -> Result<(), SerError> {
        self.element(v)
    }
    fn end(self) -> Result<(), SerError> {
        self.finish()
    }
}

impl ser::SerializeStructVariant for TextSeq<'_> {
    type Ok = ();
    type Error = SerError;
    fn serialize_field<T: ?Sized + Serialize>(&mut self, _: &'static str, v: &T) -> Result<(), SerError> {
        self.element(v)
    }
    fn end(self) -> Result<(), SerError> {
        self.finish()
    }
}

impl ser::SerializeMap for TextSeq<'_> {
    type Ok = ();
    type Error = SerError;
    fn serialize_key<T: ?Sized + Serialize>(&mut self, k: &T) -> Result<(), SerError> {
        self.element(k)
    }
    fn serialize_value<T: ?Sized + Serialize>(&mut self, v: &T) -> Result<(), SerError> {
        self.ser.out.push('=');
        v.serialize(self.ser.nested())
    }
    fn end(self) -> Result<(), SerError> {
        self.finish()
    }
}

/// Gives the time at the end of `out[start..]` exactly `digits` fraction digits.
fn fix_fraction(out: &mut String, start: usize, digits: u8) {
    let digits = usize::from(digits.min(9));
    let text = &out[start..];
    let Some(colon) = text.rfind(':') else { return };
    let frac_at = start + colon + 3;
    if frac_at > out.len() {
        return;
    }
    let have = out.len().saturating_sub(frac_at + 1);
    if out.len() > frac_at {
        // There is a fraction: pad or cut it.
        if digits == 0 {
            out.truncate(frac_at);
        } else if have > digits {
            out.truncate(frac_at + 1 + digits);
        } else {
            out.extend(std::iter::repeat_n('0', digits - have));
        }
    } else if digits > 0 {
        out.push('.');
        out.extend(std::iter::repeat_n('0', digits));
    }
}

/// Java's `Double.toString`/`Float.toString` (as Flink prints and writes numbers):
/// `1.0`, `0.001`, `1.0E7`, `1.2345E-5`. `shortest` is `format!("{:e}", v.abs())`.
fn java_number(out: &mut String, v: f64, shortest: &str) {
    if v.is_nan() {
        return out.push_str("NaN");
    }
    if v.is_sign_negative() {
        out.push('-');
    }
    if v.is_infinite() {
        return out.push_str("Infinity");
    }
    if v == 0.0 {
        return out.push_str("0.0");
    }
    let (mantissa, exp) = shortest.split_once('e').unwrap_or((shortest, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    let a = v.abs();
    if (1e-3..1e7).contains(&a) {
        if exp >= 0 {
            let int_len = exp as usize + 1;
            if digits.len() <= int_len {
                out.push_str(&digits);
                out.extend(std::iter::repeat_n('0', int_len - digits.len()));
                out.push_str(".0");
            } else {
                let _ = write!(out, "{}.{}", &digits[..int_len], &digits[int_len..]);
            }
        } else {
            out.push_str("0.");
            out.extend(std::iter::repeat_n('0', (-exp - 1) as usize));
            out.push_str(&digits);
        }
    } else {
        let rest = if digits.len() > 1 { &digits[1..] } else { "0" };
        let _ = write!(out, "{}.{rest}E{exp}", &digits[..1]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn java_numbers() {
        let j = |v: f64| {
            let mut s = String::new();
            java_number(&mut s, v, &format!("{:e}", v.abs()));
            s
        };
        assert_eq!(j(1.0), "1.0");
        assert_eq!(j(-2.5), "-2.5");
        assert_eq!(j(0.001), "0.001");
        assert_eq!(j(0.0001), "1.0E-4");
        assert_eq!(j(1e7), "1.0E7");
        assert_eq!(j(1234567.0), "1234567.0");
        assert_eq!(j(12345678.9), "1.23456789E7");
        assert_eq!(j(0.0), "0.0");
        assert_eq!(j(100.0), "100.0");
        assert_eq!(j(f64::NAN), "NaN");
    }

    #[test]
    fn fractions() {
        let f = |s: &str, p: u8| {
            let mut out = format!("x{s}");
            fix_fraction(&mut out, 1, p);
            out[1..].to_string()
        };
        assert_eq!(f("2024-01-01 10:00:00", 3), "2024-01-01 10:00:00.000");
        assert_eq!(f("2024-01-01 10:00:00.5", 3), "2024-01-01 10:00:00.500");
        assert_eq!(f("2024-01-01 10:00:00.123456", 3), "2024-01-01 10:00:00.123");
        assert_eq!(f("2024-01-01 10:00:00.123", 0), "2024-01-01 10:00:00");
        assert_eq!(f("10:00:00", 0), "10:00:00");
    }
}
