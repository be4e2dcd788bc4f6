//! The YAML node tree the loader builds: scalars already resolved with the
//! core schema, aliases and merge keys already expanded, every node with its
//! position.

use super::diag::Pos;

#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    pub pos: Pos,
    pub kind: Kind,
}

/// A mapping key: always a scalar, kept as its text.
#[derive(Debug, Clone, PartialEq)]
pub struct Key {
    pub text: String,
    pub pos: Pos,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Kind {
    Null,
    Bool(bool),
    /// A plain integer; `text` is what the file says (`0644` stays `0644`).
    Int {
        value: i128,
        text: String,
    },
    /// A plain number that is not an integer; only its text is kept.
    Float(String),
    Str(String),
    Seq(Vec<Node>),
    Map(Vec<(Key, Node)>),
}

impl Kind {
    /// How an error message names what was found.
    pub fn describe(&self) -> String {
        match self {
            Kind::Null => "an empty value".into(),
            Kind::Bool(b) => format!("the boolean `{b}`"),
            Kind::Int { text, .. } => format!("the number `{text}`"),
            Kind::Float(text) => format!("the fractional number `{text}`"),
            Kind::Str(s) if s.chars().count() <= 40 && !s.contains('\n') => {
                format!("the string {s:?}")
            }
            Kind::Str(_) => "a string".into(),
            Kind::Seq(_) => "a list".into(),
            Kind::Map(_) => "a mapping".into(),
        }
    }

    /// The source text of a plain scalar that YAML resolved to a non-string.
    pub fn plain_text(&self) -> Option<String> {
        match self {
            Kind::Bool(b) => Some(b.to_string()),
            Kind::Int { text, .. } | Kind::Float(text) => Some(text.clone()),
            _ => None,
        }
    }
}

/// Resolves a plain (unquoted) scalar with the YAML 1.2 core schema.
pub fn resolve_plain(text: &str) -> Kind {
    match text {
        "" | "~" | "null" | "Null" | "NULL" => return Kind::Null,
        "true" | "True" | "TRUE" => return Kind::Bool(true),
        "false" | "False" | "FALSE" => return Kind::Bool(false),
        _ => {}
    }
    if let Some(value) = parse_int(text) {
        return Kind::Int {
            value,
            text: text.to_string(),
        };
    }
    if is_float(text) {
        return Kind::Float(text.to_string());
    }
    Kind::Str(text.to_string())
}

fn parse_int(text: &str) -> Option<i128> {
    if let Some(oct) = text.strip_prefix("0o") {
        return digits_of(oct, 8);
    }
    if let Some(hex) = text.strip_prefix("0x") {
        return digits_of(hex, 16);
    }
    let (neg, digits) = match text.as_bytes().first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    };
    let value = digits_of(digits, 10)?;
    Some(if neg { -value } else { value })
}

fn digits_of(digits: &str, radix: u32) -> Option<i128> {
    if digits.is_empty() || !digits.chars().all(|c| c.is_digit(radix)) {
        return None;
    }
    i128::from_str_radix(digits, radix).ok()
}

fn is_float(text: &str) -> bool {
    let body = text.trim_start_matches(['-', '+']);
    if matches!(body, ".inf" | ".Inf" | ".INF") || matches!(text, ".nan" | ".NaN" | ".NAN") {
        return true;
    }
    body.len() + 1 >= text.len()
        && body.chars().any(|c| c.is_ascii_digit())
        && body
            .chars()
            .all(|c| c.is_ascii_digit() || matches!(c, '.' | 'e' | 'E' | '-' | '+'))
        && text.parse::<f64>().is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_scalars_resolve_with_the_core_schema() {
        assert_eq!(resolve_plain("~"), Kind::Null);
        assert_eq!(resolve_plain("True"), Kind::Bool(true));
        assert!(matches!(
            resolve_plain("0644"),
            Kind::Int { value: 644, .. }
        ));
        assert!(matches!(
            resolve_plain("0o644"),
            Kind::Int { value: 420, .. }
        ));
        assert!(matches!(resolve_plain("-5"), Kind::Int { value: -5, .. }));
        assert!(matches!(resolve_plain("1.5e3"), Kind::Float(_)));
        assert!(matches!(resolve_plain(".inf"), Kind::Float(_)));
        assert_eq!(resolve_plain("yes"), Kind::Str("yes".into()));
        assert_eq!(resolve_plain("inf"), Kind::Str("inf".into()));
        assert_eq!(resolve_plain("1.2.3"), Kind::Str("1.2.3".into()));
        assert_eq!(resolve_plain("e5"), Kind::Str("e5".into()));
    }
}
