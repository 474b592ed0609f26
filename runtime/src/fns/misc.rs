//! Conditional functions, string predicates, collections, hash codes and JSON.

use crate::types::{Date, Decimal, Interval, Str, Time, Timestamp};
use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::ser::{SerializeMap, SerializeSeq, Serializer};
use serde::{Deserialize, Serialize};
use std::fmt;

/// COALESCE(v1, v2, …): the first argument that is not NULL (all of one type).
pub fn coalesce<T>(args: impl IntoIterator<Item = Option<T>>) -> Option<T> {
    args.into_iter().flatten().next()
}

/// IF(condition, then, else): `then` when the condition is TRUE, else `else` (also when
/// it is NULL). Both branches have one type.
pub fn if_<T>(condition: Option<bool>, then: Option<T>, otherwise: Option<T>) -> Option<T> {
    if condition == Some(true) { then } else { otherwise }
}

/// IFNULL(value, replacement): `replacement` when `value` is NULL.
pub fn ifnull<T>(value: Option<T>, replacement: Option<T>) -> Option<T> {
    value.or(replacement)
}

/// NULLIF(v1, v2): NULL when the two are equal, else `v1`.
pub fn nullif<T: PartialEq>(a: Option<T>, b: Option<T>) -> Option<T> {
    if a.is_some() && a == b { None } else { a }
}

fn extreme<T: PartialOrd>(args: impl IntoIterator<Item = Option<T>>, greater: bool) -> Option<T> {
    let mut best: Option<T> = None;
    for a in args {
        let a = a?;
        let better = match &best {
            None => true,
            Some(b) => {
                if greater {
                    a > *b
                } else {
                    a < *b
                }
            }
        };
        if better {
            best = Some(a);
        }
    }
    best
}

/// GREATEST(v1, v2, …): the largest; NULL if any argument is NULL.
pub fn greatest<T: PartialOrd>(args: impl IntoIterator<Item = Option<T>>) -> Option<T> {
    extreme(args, true)
}

/// LEAST(v1, v2, …): the smallest; NULL if any argument is NULL.
pub fn least<T: PartialOrd>(args: impl IntoIterator<Item = Option<T>>) -> Option<T> {
    extreme(args, false)
}

/// IS_ALPHA(string): whether it is non-empty and all letters; FALSE for NULL.
pub fn is_alpha(s: Option<Str>) -> Option<bool> {
    Some(s.is_some_and(|s| !s.is_empty() && s.chars().all(char::is_alphabetic)))
}

/// IS_DIGIT(string): whether it is non-empty and all digits; FALSE for NULL.
pub fn is_digit(s: Option<Str>) -> Option<bool> {
    Some(s.is_some_and(|s| !s.is_empty() && s.chars().all(char::is_numeric)))
}

/// Whether Java's `Double.parseDouble` accepts `s` (decimal and `0x` hexadecimal
/// forms, `NaN`, `Infinity`, an optional `f`/`d` suffix, surrounding blanks).
fn java_double(s: &str) -> bool {
    let s = s.trim_matches(|c: char| c <= ' ');
    let s = s.strip_prefix(['+', '-']).unwrap_or(s);
    if s == "NaN" || s == "Infinity" {
        return true;
    }
    let s = s.strip_suffix(['f', 'F', 'd', 'D']).unwrap_or(s);
    let digits = |t: &str| t.bytes().all(|b| b.is_ascii_digit());
    let hex = |t: &str| t.bytes().all(|b| b.is_ascii_hexdigit());
    if let Some(h) = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        let Some((m, e)) = h.split_once(['p', 'P']) else { return false };
        let (i, f) = m.split_once('.').unwrap_or((m, ""));
        let e = e.strip_prefix(['+', '-']).unwrap_or(e);
        return !(i.is_empty() && f.is_empty()) && hex(i) && hex(f) && !e.is_empty() && digits(e);
    }
    let (m, e) = match s.split_once(['e', 'E']) {
        Some((m, e)) => (m, Some(e.strip_prefix(['+', '-']).unwrap_or(e))),
        None => (s, None),
    };
    let (i, f) = m.split_once('.').unwrap_or((m, ""));
    !(i.is_empty() && f.is_empty()) && digits(i) && digits(f) && e.is_none_or(|e| !e.is_empty() && digits(e))
}

/// IS_DECIMAL(string): whether it parses as a number (Java's `Integer`, `Long` or
/// `Double` parsing); FALSE for NULL and ''.
pub fn is_decimal(s: Option<Str>) -> Option<bool> {
    Some(s.is_some_and(|s| !s.is_empty() && java_double(&s)))
}

/// Collections: ARRAY (`Vec<Option<T>>`) and MAP (`Vec<(K, Option<V>)>`).
pub trait Collection {
    /// The number of elements (entries of a map).
    fn cardinality(&self) -> usize;
}

impl<T> Collection for Vec<Option<T>> {
    fn cardinality(&self) -> usize {
        self.len()
    }
}

impl<K, V> Collection for Vec<(K, Option<V>)> {
    fn cardinality(&self) -> usize {
        self.len()
    }
}

/// CARDINALITY(array | map).
pub fn cardinality<C: Collection>(c: Option<C>) -> Option<i32> {
    Some(c?.cardinality() as i32)
}

/// ELEMENT(array): the only element; NULL when the array is empty — and also when it
/// has more than one element, where Flink fails the query.
pub fn element<T>(a: Option<Vec<Option<T>>>) -> Option<T> {
    let mut a = a?;
    if a.len() == 1 { a.pop().flatten() } else { None }
}

#[cfg(test)]
mod map_tests {
    use super::*;

    #[test]
    fn maps_keep_the_last_value_of_a_key_and_nulls_find_nothing() {
        let m = map_of(vec![(Some("a"), Some(1)), (Some("b"), None), (Some("a"), Some(3))]);
        assert_eq!(m, vec![(Some("a"), Some(3)), (Some("b"), None)]);
        assert_eq!(map_get(Some(m.clone()), Some("a")), Some(3));
        assert_eq!(map_get(Some(m.clone()), Some("b")), None);
        assert_eq!(map_get(Some(m.clone()), Some("c")), None);
        assert_eq!(map_get(Some(m), None), None);
        assert_eq!(map_get::<&str, i32>(None, Some("a")), None);
    }
}

/// MAP[k1, v1, …]: the entries in order, a key given twice keeping its last value.
pub fn map_of<K: PartialEq, V>(entries: Vec<(Option<K>, Option<V>)>) -> Vec<(Option<K>, Option<V>)> {
    let mut out: Vec<(Option<K>, Option<V>)> = Vec::with_capacity(entries.len());
    for (k, v) in entries {
        match out.iter_mut().find(|(x, _)| *x == k) {
            Some(slot) => slot.1 = v,
            None => out.push((k, v)),
        }
    }
    out
}

/// map[key]: the value of `key` (the last entry with it: a Kafka record may repeat a
/// header); NULL when the map or the key is NULL or the key is absent.
pub fn map_get<K: PartialEq, V: Clone>(map: Option<Vec<(Option<K>, Option<V>)>>, key: Option<K>) -> Option<V> {
    let key = key?;
    map?.into_iter().rev().find(|(k, _)| k.as_ref() == Some(&key)).and_then(|(_, v)| v)
}

/// Java's `hashCode` of a value's Java form (`String.hashCode` over UTF-16 units,
/// `Long.hashCode`, `Double.hashCode`, …). DECIMAL, TIMESTAMP and INTERVAL hash their
/// exact contents but not as Flink's internal classes do.
pub trait HashCode {
    /// The hash.
    fn hash_code(&self) -> i32;
}

fn long_hash(v: i64) -> i32 {
    (v ^ ((v as u64) >> 32) as i64) as i32
}

macro_rules! int_hash {
    ($($t:ty),*) => {$(
        impl HashCode for $t {
            fn hash_code(&self) -> i32 {
                *self as i32
            }
        }
    )*};
}

int_hash!(i8, i16, i32);

impl HashCode for i64 {
    fn hash_code(&self) -> i32 {
        long_hash(*self)
    }
}

impl HashCode for bool {
    fn hash_code(&self) -> i32 {
        if *self { 1231 } else { 1237 }
    }
}

impl HashCode for f32 {
    fn hash_code(&self) -> i32 {
        (if self.is_nan() { 0x7fc0_0000 } else { self.to_bits() }) as i32
    }
}

impl HashCode for f64 {
    fn hash_code(&self) -> i32 {
        long_hash((if self.is_nan() { 0x7ff8_0000_0000_0000 } else { self.to_bits() }) as i64)
    }
}

impl HashCode for Str {
    fn hash_code(&self) -> i32 {
        self.encode_utf16().fold(0i32, |h, u| h.wrapping_mul(31).wrapping_add(i32::from(u)))
    }
}

impl HashCode for Vec<u8> {
    fn hash_code(&self) -> i32 {
        self.iter().fold(1i32, |h, &b| h.wrapping_mul(31).wrapping_add(i32::from(b as i8)))
    }
}

impl HashCode for Decimal {
    fn hash_code(&self) -> i32 {
        let u = self.units();
        long_hash((u as i64) ^ ((u >> 64) as i64)).wrapping_mul(31).wrapping_add(i32::from(self.scale()))
    }
}

impl HashCode for Date {
    fn hash_code(&self) -> i32 {
        self.0
    }
}

impl HashCode for Time {
    fn hash_code(&self) -> i32 {
        long_hash(self.0)
    }
}

impl HashCode for Timestamp {
    fn hash_code(&self) -> i32 {
        long_hash(self.millis()).wrapping_mul(31).wrapping_add(self.0.rem_euclid(1_000_000) as i32)
    }
}

impl HashCode for Interval {
    fn hash_code(&self) -> i32 {
        match self {
            Interval::Millis(ms) => long_hash(*ms),
            Interval::Months(m) => *m,
        }
    }
}

/// HASH_CODE(value): see [`HashCode`].
pub fn hash_code<T: HashCode>(x: Option<T>) -> Option<i32> {
    Some(x?.hash_code())
}

// ---------------------------------------------------------------------------------
// JSON

/// A JSON value whose objects keep their keys in document order (Jackson's order),
/// read and written with serde_json.
#[derive(Debug, Clone, PartialEq)]
enum Json {
    Null,
    Bool(bool),
    Number(serde_json::Number),
    String(String),
    Array(Vec<Json>),
    Object(Vec<(String, Json)>),
}

impl<'de> Deserialize<'de> for Json {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Json, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Json;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("JSON")
            }
            fn visit_unit<E: de::Error>(self) -> Result<Json, E> {
                Ok(Json::Null)
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<Json, E> {
                Ok(Json::Bool(v))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Json, E> {
                Ok(Json::Number(v.into()))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Json, E> {
                Ok(Json::Number(v.into()))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Json, E> {
                serde_json::Number::from_f64(v).map(Json::Number).ok_or_else(|| E::custom("not a finite number"))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Json, E> {
                Ok(Json::String(v.to_string()))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Json, E> {
                Ok(Json::String(v))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Json, A::Error> {
                let mut items = Vec::new();
                while let Some(x) = seq.next_element()? {
                    items.push(x);
                }
                Ok(Json::Array(items))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Json, A::Error> {
                let mut entries: Vec<(String, Json)> = Vec::new();
                while let Some((k, v)) = map.next_entry::<String, Json>()? {
                    // A repeated key keeps its first position and its last value.
                    match entries.iter_mut().find(|(key, _)| *key == k) {
                        Some(e) => e.1 = v,
                        None => entries.push((k, v)),
                    }
                }
                Ok(Json::Object(entries))
            }
        }
        d.deserialize_any(V)
    }
}

impl Serialize for Json {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Json::Null => s.serialize_unit(),
            Json::Bool(b) => s.serialize_bool(*b),
            Json::Number(n) => n.serialize(s),
            Json::String(t) => s.serialize_str(t),
            Json::Array(items) => {
                let mut seq = s.serialize_seq(Some(items.len()))?;
                for x in items {
                    seq.serialize_element(x)?;
                }
                seq.end()
            }
            Json::Object(entries) => {
                let mut map = s.serialize_map(Some(entries.len()))?;
                for (k, v) in entries {
                    map.serialize_entry(k, v)?;
                }
                map.end()
            }
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Step {
    Key(String),
    Index(usize),
    /// `[*]`
    AllElements,
    /// `.*`
    AllMembers,
}

/// A JSON path: `[lax | strict] $` followed by `.key`, `."key"`, `['key']`, `["key"]`,
/// `[n]`, `[*]` and `.*` steps. Whether it is lax (the default).
fn parse_path(path: &str) -> Option<(bool, Vec<Step>)> {
    let p = path.trim();
    let (lax, p) = match p.split_once(char::is_whitespace) {
        Some(("lax", rest)) => (true, rest.trim_start()),
        Some(("strict", rest)) => (false, rest.trim_start()),
        _ => (true, p),
    };
    let chars: Vec<char> = p.strip_prefix('$')?.chars().collect();
    let mut steps = Vec::new();
    let mut i = 0;
    let quoted = |i: &mut usize| -> Option<String> {
        let q = *chars.get(*i)?;
        let mut out = String::new();
        *i += 1;
        loop {
            match *chars.get(*i)? {
                '\\' => {
                    out.push(*chars.get(*i + 1)?);
                    *i += 2;
                }
                c if c == q => {
                    *i += 1;
                    return Some(out);
                }
                c => {
                    out.push(c);
                    *i += 1;
                }
            }
        }
    };
    while i < chars.len() {
        match chars[i] {
            '.' if chars.get(i + 1) == Some(&'[') => i += 1,
            '.' => {
                i += 1;
                match chars.get(i)? {
                    '*' => {
                        i += 1;
                        steps.push(Step::AllMembers);
                    }
                    '"' | '\'' => steps.push(Step::Key(quoted(&mut i)?)),
                    _ => {
                        let start = i;
                        while chars.get(i).is_some_and(|c| c.is_alphanumeric() || *c == '_' || *c == '$') {
                            i += 1;
                        }
                        if i == start {
                            return None;
                        }
                        steps.push(Step::Key(chars[start..i].iter().collect()));
                    }
                }
            }
            '[' => {
                i += 1;
                match chars.get(i)? {
                    '*' => {
                        i += 1;
                        steps.push(Step::AllElements);
                    }
                    '"' | '\'' => steps.push(Step::Key(quoted(&mut i)?)),
                    _ => {
                        let start = i;
                        while chars.get(i).is_some_and(|c| c.is_ascii_digit()) {
                            i += 1;
                        }
                        steps.push(Step::Index(chars[start..i].iter().collect::<String>().parse().ok()?));
                    }
                }
                if chars.get(i) != Some(&']') {
                    return None;
                }
                i += 1;
            }
            c if c.is_whitespace() => i += 1,
            _ => return None,
        }
    }
    Some((lax, steps))
}

/// The values a path selects, `Err` on a strict-mode error or an invalid document or
/// path. Whether the path can select several values.
fn select(json: &str, path: &str) -> Result<(Vec<Json>, bool), ()> {
    let (lax, steps) = parse_path(path).ok_or(())?;
    let root: Json = serde_json::from_str(json).map_err(|_| ())?;
    let many = steps.iter().any(|s| matches!(s, Step::AllElements | Step::AllMembers));
    let mut current = vec![root];
    for step in &steps {
        let mut next = Vec::new();
        for v in current {
            match (step, v) {
                (Step::Key(k), Json::Object(entries)) => match entries.into_iter().rev().find(|(key, _)| key == k) {
                    Some((_, x)) => next.push(x),
                    None if lax => {}
                    None => return Err(()),
                },
                // Lax mode unwraps arrays for member access.
                (Step::Key(k), Json::Array(items)) if lax => {
                    for item in items {
                        if let Json::Object(entries) = item {
                            next.extend(entries.into_iter().rev().find(|(key, _)| key == k).map(|(_, x)| x));
                        }
                    }
                }
                (Step::Index(i), Json::Array(mut items)) => match items.get(*i) {
                    Some(_) => next.push(items.swap_remove(*i)),
                    None if lax => {}
                    None => return Err(()),
                },
                // Lax mode reads a non-array as an array of one.
                (Step::Index(0) | Step::AllElements, x) if lax && !matches!(x, Json::Array(_)) => next.push(x),
                (Step::AllElements, Json::Array(items)) => next.extend(items),
                (Step::AllMembers, Json::Object(entries)) => next.extend(entries.into_iter().map(|(_, x)| x)),
                _ if lax => {}
                _ => return Err(()),
            }
        }
        current = next;
    }
    Ok((current, many))
}

/// JSON_VALUE(json, path): the scalar at a JSON path, as a string (a JSON string without
/// quotes, a number or boolean as written by Jackson). NULL when the path selects
/// nothing, JSON null, an object or array, or several values, and for invalid JSON
/// (Flink's defaults NULL ON EMPTY, NULL ON ERROR).
pub fn json_value(json: Option<Str>, path: Option<Str>) -> Option<Str> {
    let (json, path) = (json?, path?);
    let (values, _) = select(&json, &path).ok()?;
    match values.as_slice() {
        [Json::String(s)] => Some(Str::new(s)),
        [Json::Number(n)] => Some(Str::from(n.to_string())),
        [Json::Bool(b)] => Some(Str::new_inline(if *b { "true" } else { "false" })),
        _ => None,
    }
}

/// JSON_QUERY(json, path): the object or array at a JSON path as compact JSON text
/// (keys in document order). A path with a wildcard gives the array of what it selects.
/// NULL when nothing is selected, for a scalar (which would need a wrapper), and for
/// invalid JSON.
pub fn json_query(json: Option<Str>, path: Option<Str>) -> Option<Str> {
    let (json, path) = (json?, path?);
    let (mut values, many) = select(&json, &path).ok()?;
    let v = if many {
        if values.is_empty() {
            return None;
        }
        Json::Array(values)
    } else if values.len() == 1 {
        values.pop()?
    } else {
        return None;
    };
    matches!(v, Json::Array(_) | Json::Object(_)).then(|| Str::from(serde_json::to_string(&v).unwrap_or_default()))
}

/// JSON_EXISTS(json, path): whether the path selects something (a JSON null counts);
/// FALSE for invalid JSON (Flink's default FALSE ON ERROR).
pub fn json_exists(json: Option<Str>, path: Option<Str>) -> Option<bool> {
    let (json, path) = (json?, path?);
    Some(select(&json, &path).is_ok_and(|(v, _)| !v.is_empty()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &str) -> Option<Str> {
        Some(Str::new(v))
    }

    fn t(v: Option<Str>) -> Option<String> {
        v.map(|x| x.to_string())
    }

    #[test]
    fn conditionals() {
        assert_eq!(coalesce(vec![None, Some(2), Some(3)]), Some(2));
        assert_eq!(coalesce::<i32>(vec![None, None]), None);
        assert_eq!(coalesce([None, s("x")]), s("x"));
        assert_eq!(if_(Some(true), Some(1), Some(2)), Some(1));
        assert_eq!(if_(Some(false), Some(1), Some(2)), Some(2));
        assert_eq!(if_(None, Some(1), Some(2)), Some(2));
        assert_eq!(if_(Some(true), None, Some(2)), None);
        assert_eq!(ifnull(None, Some(5)), Some(5));
        assert_eq!(ifnull(Some(1), Some(5)), Some(1));
        assert_eq!(nullif(Some(1), Some(1)), None);
        assert_eq!(nullif(Some(1), Some(2)), Some(1));
        assert_eq!(nullif(Some(1), None), Some(1));
        assert_eq!(nullif::<i32>(None, None), None);
        assert_eq!(greatest(vec![Some(1), Some(3), Some(2)]), Some(3));
        assert_eq!(greatest(vec![Some(1), None]), None);
        assert_eq!(least(vec![s("b"), s("a"), s("c")]), s("a"));
        assert_eq!(least(vec![Some(1.5), Some(-2.0)]), Some(-2.0));
        assert_eq!(greatest::<i32>(vec![]), None);
        let d = |x: &str| Some(x.parse::<Decimal>().unwrap());
        assert_eq!(greatest(vec![d("1.50"), d("1.5"), d("1.499")]).map(|x| x.to_string()), Some("1.50".into()));
    }

    #[test]
    fn predicates() {
        assert_eq!(is_alpha(s("abcÉ")), Some(true));
        assert_eq!(is_alpha(s("ab1")), Some(false));
        assert_eq!(is_alpha(s("")), Some(false));
        assert_eq!(is_alpha(None), Some(false));
        assert_eq!(is_digit(s("0123")), Some(true));
        assert_eq!(is_digit(s("12.3")), Some(false));
        assert_eq!(is_digit(s("")), Some(false));
        assert_eq!(is_digit(None), Some(false));
        for ok in ["1", "-12", "+1.5", "1e10", ".5", "5.", "1.5E-3", " 7 ", "NaN", "-Infinity", "2f", "0x1p3", "1d"] {
            assert_eq!(is_decimal(s(ok)), Some(true), "{ok}");
        }
        for bad in ["", "abc", "1.2.3", "e5", "1e", "0x10", "--1", ".", "1 2"] {
            assert_eq!(is_decimal(s(bad)), Some(false), "{bad}");
        }
        assert_eq!(is_decimal(None), Some(false));
    }

    #[test]
    fn collections_and_hashes() {
        assert_eq!(cardinality(Some(vec![Some(1), None, Some(3)])), Some(3));
        assert_eq!(cardinality(Some(vec![(Str::new("k"), Some(1))])), Some(1));
        assert_eq!(cardinality::<Vec<Option<i32>>>(None), None);
        assert_eq!(element(Some(vec![Some(7)])), Some(7));
        assert_eq!(element::<i32>(Some(vec![])), None);
        assert_eq!(element(Some(vec![Some(1), Some(2)])), None);
        assert_eq!(element(Some(vec![None::<i32>])), None);
        assert_eq!(hash_code(s("hello")), Some(99_162_322));
        assert_eq!(hash_code(s("")), Some(0));
        assert_eq!(hash_code(s("😀")), Some(1_772_899));
        assert_eq!(hash_code(Some(42i32)), Some(42));
        assert_eq!(hash_code(Some(-1i64)), Some(0));
        assert_eq!(hash_code(Some(1i64 << 32)), Some(1));
        assert_eq!(hash_code(Some(true)), Some(1231));
        assert_eq!(hash_code(Some(1.0f64)), Some(1_072_693_248));
        assert_eq!(hash_code(Some(vec![1u8, 2])), Some(994));
        assert_eq!(hash_code::<i32>(None), None);
    }

    #[test]
    fn json() {
        let doc = s(
            r#"{"a": {"b": [10, 2.5, "x", true, null, {"c": "d"}]}, "z": 1, "y": {"k2": 1, "k1": [1, 2]}, "a.b": 7}"#,
        );
        let v = |p: &str| t(json_value(doc.clone(), s(p)));
        assert_eq!(v("$.a.b[0]"), Some("10".into()));
        assert_eq!(v("$.a.b[1]"), Some("2.5".into()));
        assert_eq!(v("$.a.b[2]"), Some("x".into()));
        assert_eq!(v("$.a.b[3]"), Some("true".into()));
        assert_eq!(v("$.a.b[4]"), None);
        assert_eq!(v("$.a.b[5].c"), Some("d".into()));
        assert_eq!(v("$['a']['b'][0]"), Some("10".into()));
        assert_eq!(v("$.[\"a.b\"]"), Some("7".into()));
        assert_eq!(v("lax $.a.b[9]"), None);
        assert_eq!(v("$.a"), None);
        assert_eq!(v("$.missing"), None);
        assert_eq!(v("strict $.z"), Some("1".into()));
        assert_eq!(v("$.z[0]"), Some("1".into()));
        assert_eq!(v("nonsense"), None);
        assert_eq!(json_value(s("{not json"), s("$.a")), None);
        assert_eq!(json_value(None, s("$.a")), None);
        let q = |p: &str| t(json_query(doc.clone(), s(p)));
        assert_eq!(q("$.y"), Some(r#"{"k2":1,"k1":[1,2]}"#.into()));
        assert_eq!(q("$.a.b[5]"), Some(r#"{"c":"d"}"#.into()));
        assert_eq!(q("$.y.k1"), Some("[1,2]".into()));
        assert_eq!(q("$.z"), None);
        assert_eq!(q("$.nope"), None);
        let arr = s(r#"{"a":[{"c":"c1"},{"c":"c2"}]}"#);
        assert_eq!(t(json_query(arr.clone(), s("lax $.a[*].c"))), Some(r#"["c1","c2"]"#.into()));
        assert_eq!(t(json_query(arr, s("$.a.c"))), None);
        assert_eq!(t(json_query(s("[1, 2]"), s("$"))), Some("[1,2]".into()));
        assert_eq!(json_query(s("1"), s("$")), None);
        let e = |p: &str| json_exists(doc.clone(), s(p));
        assert_eq!(e("$.a.b[4]"), Some(true));
        assert_eq!(e("$.a.b[6]"), Some(false));
        assert_eq!(e("strict $.a.x"), Some(false));
        assert_eq!(e("$.y.k1[1]"), Some(true));
        assert_eq!(json_exists(s("oops"), s("$")), Some(false));
        assert_eq!(json_exists(None, s("$")), None);
    }
}
