//! Key templates: `'profile:{user_id}'`, with `{column}` placeholders and `{{`/`}}` for
//! literal braces.

use std::fmt;

/// A parsed key template.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct KeyTemplate {
    parts: Vec<Part>,
    /// The columns named, each once, in the order of their first placeholder.
    columns: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Text(String),
    /// A placeholder: an index into `columns`.
    Column(usize),
}

impl fmt::Debug for KeyTemplate {
    /// The template as it would be written.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut s = String::new();
        for part in &self.parts {
            match part {
                Part::Text(t) => s.push_str(&t.replace('{', "{{").replace('}', "}}")),
                Part::Column(i) => {
                    s.push('{');
                    s.push_str(&self.columns[*i]);
                    s.push('}');
                }
            }
        }
        write!(f, "'{s}'")
    }
}

impl KeyTemplate {
    /// Parses `template` against the table's `columns`; the error says what is wrong and
    /// where.
    pub(crate) fn parse(template: &str, columns: &[&str]) -> Result<KeyTemplate, String> {
        let mut key = KeyTemplate { parts: Vec::new(), columns: Vec::new() };
        let mut text = String::new();
        let mut chars = template.char_indices().peekable();
        while let Some((at, c)) = chars.next() {
            match c {
                '{' if chars.peek().map(|p| p.1) == Some('{') => {
                    chars.next();
                    text.push('{');
                }
                '}' if chars.peek().map(|p| p.1) == Some('}') => {
                    chars.next();
                    text.push('}');
                }
                '}' => {
                    return Err(format!(
                        "'{template}': '}}' at position {} closes no placeholder (write '}}}}' for a brace)",
                        at + 1
                    ));
                }
                '{' => {
                    let rest = &template[at + 1..];
                    let Some(end) = rest.find(['}', '{']).filter(|&e| rest.as_bytes()[e] == b'}') else {
                        return Err(format!(
                            "'{template}': the placeholder at position {} is not closed by '}}' (write '{{{{' for a brace)",
                            at + 1
                        ));
                    };
                    let name = &rest[..end];
                    if name.is_empty() {
                        return Err(format!(
                            "'{template}': empty placeholder '{{}}' at position {}: name a column",
                            at + 1
                        ));
                    }
                    if !columns.contains(&name) {
                        let hint = match columns.iter().find(|c| c.eq_ignore_ascii_case(name)) {
                            Some(c) => format!("; did you mean `{c}`?"),
                            None => format!(" (columns: {})", columns.join(", ")),
                        };
                        return Err(format!("'{template}': `{name}` is not a column of the table{hint}"));
                    }
                    if !text.is_empty() {
                        key.parts.push(Part::Text(std::mem::take(&mut text)));
                    }
                    let index = match key.columns.iter().position(|c| c == name) {
                        Some(i) => i,
                        None => {
                            key.columns.push(name.to_string());
                            key.columns.len() - 1
                        }
                    };
                    key.parts.push(Part::Column(index));
                    for _ in 0..name.chars().count() + 1 {
                        chars.next();
                    }
                }
                c => text.push(c),
            }
        }
        if !text.is_empty() {
            key.parts.push(Part::Text(text));
        }
        Ok(key)
    }

    /// `<table>:{pk1}:{pk2}…`.
    pub(crate) fn default_for(table: &str, primary_key: &[&str]) -> KeyTemplate {
        let mut parts = Vec::new();
        for (i, _) in primary_key.iter().enumerate() {
            let sep = if i == 0 { format!("{table}:") } else { ":".to_string() };
            parts.push(Part::Text(sep));
            parts.push(Part::Column(i));
        }
        KeyTemplate { parts, columns: primary_key.iter().map(|c| c.to_string()).collect() }
    }

    /// The columns named, each once, in the order of their first placeholder.
    pub(crate) fn columns(&self) -> &[String] {
        &self.columns
    }

    /// The key of a row whose key columns have the texts `values` (in [`columns`] order).
    ///
    /// [`columns`]: Self::columns
    pub(crate) fn render(&self, values: &[impl AsRef<str>]) -> String {
        let mut out = String::new();
        for part in &self.parts {
            match part {
                Part::Text(t) => out.push_str(t),
                Part::Column(i) => out.push_str(values.get(*i).map_or("", AsRef::as_ref)),
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const COLUMNS: &[&str] = &["user_id", "region", "score"];

    fn parse(t: &str) -> Result<KeyTemplate, String> {
        KeyTemplate::parse(t, COLUMNS)
    }

    #[test]
    fn placeholders_are_replaced_in_order() {
        let k = parse("profile:{user_id}").unwrap();
        assert_eq!(k.columns(), ["user_id"]);
        assert_eq!(k.render(&["42"]), "profile:42");
        let k = parse("{region}/{user_id}:x").unwrap();
        assert_eq!(k.columns(), ["region", "user_id"]);
        assert_eq!(k.render(&["eu", "7"]), "eu/7:x");
        // A column named twice is one key column.
        let k = parse("{user_id}:{region}:{user_id}").unwrap();
        assert_eq!(k.columns(), ["user_id", "region"]);
        assert_eq!(k.render(&["1", "eu"]), "1:eu:1");
        // Non-ASCII text and names next to each other.
        let k = parse("ü{user_id}{region}é").unwrap();
        assert_eq!(k.render(&["1", "eu"]), "ü1eué");
        assert_eq!(format!("{k:?}"), "'ü{user_id}{region}é'");
    }

    #[test]
    fn doubled_braces_are_literal() {
        let k = parse("{{x}}:{user_id}:}}{{").unwrap();
        assert_eq!(k.columns(), ["user_id"]);
        assert_eq!(k.render(&["5"]), "{x}:5:}{");
        assert_eq!(format!("{k:?}"), "'{{x}}:{user_id}:}}{{'");
    }

    #[test]
    fn a_template_without_placeholders_is_one_key() {
        let k = parse("totals").unwrap();
        assert!(k.columns().is_empty());
        assert_eq!(k.render(&[] as &[&str]), "totals");
        let k = parse("").unwrap();
        assert_eq!(k.render(&[] as &[&str]), "");
    }

    #[test]
    fn bad_templates_say_what_is_wrong() {
        let e = parse("p:{nope}").unwrap_err();
        assert!(e.contains("`nope` is not a column") && e.contains("user_id, region, score"), "{e}");
        let e = parse("p:{User_Id}").unwrap_err();
        assert!(e.contains("did you mean `user_id`"), "{e}");
        let e = parse("p:{user_id").unwrap_err();
        assert!(e.contains("position 3 is not closed"), "{e}");
        let e = parse("p:{user_{id}").unwrap_err();
        assert!(e.contains("not closed"), "{e}");
        let e = parse("p:{}").unwrap_err();
        assert!(e.contains("empty placeholder"), "{e}");
        let e = parse("p:user_id}").unwrap_err();
        assert!(e.contains("position 10 closes no placeholder"), "{e}");
    }

    #[test]
    fn the_default_key_is_the_table_and_primary_key() {
        let k = KeyTemplate::default_for("users", &["region", "user_id"]);
        assert_eq!(k.columns(), ["region", "user_id"]);
        assert_eq!(k.render(&["eu", "9"]), "users:eu:9");
        assert_eq!(format!("{k:?}"), "'users:{region}:{user_id}'");
        // Braces in the table name stay text.
        let k = KeyTemplate::default_for("t{1}", &["id"]);
        assert_eq!(k.render(&["3"]), "t{1}:3");
    }
}
