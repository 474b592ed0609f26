//! Native ports of well-known Java UDFs, so that queries naming their classes run
//! unchanged (`CREATE FUNCTION count_char AS 'com.github.nexmark.flink.udf.CountChar'`).

use crate::types::Str;

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
