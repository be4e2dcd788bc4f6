//! Scalars that LinuxKit accepts in two shapes: ids that are numbers or names,
//! and modes written as octal text (quoted or not).

use std::fmt;

use serde::de::{self, Deserializer, Visitor};

use super::de::{ID_OR_NAME, SCALAR_TEXT};

/// A user or group: a number, or the name of a container whose allocated id
/// is meant (LinuxKit's convention; `root` is 0).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Id {
    Num(u32),
    Name(String),
}

impl<'de> de::Deserialize<'de> for Id {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Id, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Id;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a number or a name")
            }
            fn visit_u64<E: de::Error>(self, n: u64) -> Result<Id, E> {
                u32::try_from(n)
                    .map(Id::Num)
                    .map_err(|_| E::custom(format!("{n} is too large for a user or group id")))
            }
            fn visit_i64<E: de::Error>(self, n: i64) -> Result<Id, E> {
                u64::try_from(n)
                    .map_err(|_| E::custom(format!("{n} is not a valid user or group id")))
                    .and_then(|n| self.visit_u64(n))
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<Id, E> {
                Ok(Id::Name(s.to_string()))
            }
            fn visit_newtype_struct<D: Deserializer<'de>>(self, d: D) -> Result<Id, D::Error> {
                d.deserialize_any(self)
            }
        }
        d.deserialize_newtype_struct(ID_OR_NAME, V)
    }
}

/// Text of a scalar that may be written as a number, like `mode: 0644`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScalarText(pub String);

impl<'de> de::Deserialize<'de> for ScalarText {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<ScalarText, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = ScalarText;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_u64<E: de::Error>(self, n: u64) -> Result<ScalarText, E> {
                Ok(ScalarText(n.to_string()))
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<ScalarText, E> {
                Ok(ScalarText(s.to_string()))
            }
            fn visit_newtype_struct<D: Deserializer<'de>>(
                self,
                d: D,
            ) -> Result<ScalarText, D::Error> {
                d.deserialize_any(self)
            }
        }
        d.deserialize_newtype_struct(SCALAR_TEXT, V)
    }
}

/// For `#[serde(deserialize_with)]` on optional mode fields.
pub fn opt_text<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    let v: Option<ScalarText> = de::Deserialize::deserialize(d)?;
    Ok(v.map(|t| t.0))
}

/// Parses a permission mode written in octal, e.g. `0644`, `755` or `0o600`.
pub fn parse_mode(text: &str) -> Result<u32, String> {
    let digits = text.strip_prefix("0o").unwrap_or(text);
    if digits.is_empty() || !digits.chars().all(|c| ('0'..='7').contains(&c)) {
        return Err(format!(
            "mode {text:?} is not an octal number; write it like \"0644\" or \"0755\""
        ));
    }
    match u32::from_str_radix(digits, 8) {
        Ok(bits) if bits <= 0o7777 => Ok(bits),
        _ => Err(format!(
            "mode {text:?} is out of range; the largest mode is \"07777\""
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn octal_modes_parse_and_others_are_refused() {
        assert_eq!(parse_mode("0644"), Ok(0o644));
        assert_eq!(parse_mode("755"), Ok(0o755));
        assert_eq!(parse_mode("0o600"), Ok(0o600));
        assert_eq!(parse_mode("04755"), Ok(0o4755));
        assert!(
            parse_mode("999")
                .unwrap_err()
                .contains("not an octal number")
        );
        assert!(parse_mode("rwx").is_err());
        assert!(parse_mode("").is_err());
        assert!(parse_mode("-644").is_err());
        assert!(parse_mode("17777").unwrap_err().contains("out of range"));
        assert!(parse_mode("00000000000000000000000644").is_ok());
    }
}
