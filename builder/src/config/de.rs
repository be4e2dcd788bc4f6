//! A serde `Deserializer` over the node tree that keeps going after a problem.
//!
//! Each problem is recorded with its position and key path, and the visitor is
//! handed a neutral value (empty string, empty list, `false`, 0) so that the
//! rest of the file is still checked. Unknown keys are recorded with a
//! suggestion and skipped. Every struct in the schema uses `#[serde(default)]`,
//! so a neutral mapping always deserializes.

use std::cell::RefCell;
use std::fmt;
use std::path::Path;

use serde::de::{self, Visitor};

use super::access::{MapDe, SeqDe};

use super::diag::{Diagnostics, Location, Pos};
use super::node::{Key, Kind, Node};

/// Newtype names that ask for a scalar that may be a number or a string.
pub const ID_OR_NAME: &str = "$cairn::IdOrName";
pub const SCALAR_TEXT: &str = "$cairn::ScalarText";

#[derive(Debug)]
pub struct Error {
    pub(super) message: String,
    pub(super) reported: bool,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {}

impl de::Error for Error {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        Error {
            message: msg.to_string(),
            reported: false,
        }
    }
}

/// Where problems are collected while one file is deserialized.
#[derive(Debug)]
pub struct Ctx<'a> {
    file: &'a Path,
    diags: RefCell<Diagnostics>,
}

impl<'a> Ctx<'a> {
    pub fn new(file: &'a Path) -> Ctx<'a> {
        Ctx {
            file,
            diags: RefCell::new(Diagnostics::default()),
        }
    }

    pub fn report(&self, pos: Pos, path: &str, message: impl Into<String>) {
        self.diags
            .borrow_mut()
            .push(Location::new(self.file, pos), path, message);
    }

    pub fn into_diagnostics(self) -> Diagnostics {
        self.diags.into_inner()
    }
}

/// Deserializes `T` from `node`; problems land in `ctx`.
pub fn from_node<'de, T: de::Deserialize<'de>>(node: &'de Node, ctx: &'de Ctx<'de>) -> Option<T> {
    let de = NodeDe {
        node,
        path: String::new(),
        ctx,
    };
    match T::deserialize(de) {
        Ok(v) => Some(v),
        Err(e) => {
            if !e.reported {
                ctx.report(node.pos, "", e.message);
            }
            None
        }
    }
}

pub fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

pub struct NodeDe<'a> {
    pub(super) node: &'a Node,
    pub(super) path: String,
    pub(super) ctx: &'a Ctx<'a>,
}

impl<'a> NodeDe<'a> {
    fn mismatch(&self, expected: &str) {
        let found = self.node.kind.describe();
        let hint = match self.node.kind.plain_text() {
            Some(text) if expected.contains("string") => {
                format!("; write it in quotes (\"{text}\") if it is meant as text")
            }
            _ => String::new(),
        };
        self.ctx.report(
            self.node.pos,
            &self.path,
            format!("expected {expected}, found {found}{hint}"),
        );
    }

    fn int<V: Visitor<'a>>(
        self,
        min: i128,
        max: i128,
        what: &str,
        v: V,
    ) -> Result<V::Value, Error> {
        match &self.node.kind {
            Kind::Int { value, .. } if (min..=max).contains(value) => {
                if *value < 0 {
                    v.visit_i64(*value as i64)
                } else {
                    v.visit_u64(*value as u64)
                }
            }
            Kind::Int { text, .. } => {
                self.ctx.report(
                    self.node.pos,
                    &self.path,
                    format!("{text} is out of range ({min} to {max})"),
                );
                v.visit_u64(0)
            }
            // Digits too many for any integer type resolve as a float.
            Kind::Float(text)
                if text
                    .trim_start_matches(['-', '+'])
                    .bytes()
                    .all(|b| b.is_ascii_digit()) =>
            {
                self.ctx.report(
                    self.node.pos,
                    &self.path,
                    format!("{text} is out of range ({min} to {max})"),
                );
                v.visit_u64(0)
            }
            _ => {
                self.mismatch(what);
                v.visit_u64(0)
            }
        }
    }

    fn seq<V: Visitor<'a>>(self, v: V) -> Result<V::Value, Error> {
        static EMPTY: [Node; 0] = [];
        let items: &'a [Node] = match &self.node.kind {
            Kind::Seq(items) => items,
            Kind::Null => &EMPTY,
            _ => {
                self.mismatch("a list");
                &EMPTY
            }
        };
        v.visit_seq(SeqDe::new(items, self.path, self.ctx))
    }

    fn map<V: Visitor<'a>>(
        self,
        fields: Option<&'static [&'static str]>,
        v: V,
    ) -> Result<V::Value, Error> {
        static EMPTY: [(Key, Node); 0] = [];
        let entries: &'a [(Key, Node)] = match &self.node.kind {
            Kind::Map(entries) => entries,
            Kind::Null => &EMPTY,
            _ => {
                self.mismatch("a mapping");
                &EMPTY
            }
        };
        v.visit_map(MapDe::new(entries, fields, self.path, self.ctx))
    }
}

macro_rules! ints {
    ($($method:ident: $ty:ty, $what:expr;)*) => {
        $(
            fn $method<V: Visitor<'a>>(self, v: V) -> Result<V::Value, Error> {
                self.int(<$ty>::MIN as i128, <$ty>::MAX as i128, $what, v)
            }
        )*
    };
}

impl<'a> de::Deserializer<'a> for NodeDe<'a> {
    type Error = Error;

    fn deserialize_any<V: Visitor<'a>>(self, v: V) -> Result<V::Value, Error> {
        match &self.node.kind {
            Kind::Null => v.visit_unit(),
            Kind::Bool(b) => v.visit_bool(*b),
            Kind::Int { .. } => self.int(i64::MIN as i128, u64::MAX as i128, "a number", v),
            Kind::Float(text) => v.visit_str(text),
            Kind::Str(s) => v.visit_str(s),
            Kind::Seq(_) => self.seq(v),
            Kind::Map(_) => self.map(None, v),
        }
    }

    fn deserialize_bool<V: Visitor<'a>>(self, v: V) -> Result<V::Value, Error> {
        match self.node.kind {
            Kind::Bool(b) => v.visit_bool(b),
            _ => {
                self.mismatch("true or false");
                v.visit_bool(false)
            }
        }
    }

    ints! {
        deserialize_i8: i8, "a whole number";
        deserialize_i16: i16, "a whole number";
        deserialize_i32: i32, "a whole number";
        deserialize_i64: i64, "a whole number";
        deserialize_u8: u8, "a non-negative whole number";
        deserialize_u16: u16, "a non-negative whole number";
        deserialize_u32: u32, "a non-negative whole number";
        deserialize_u64: u64, "a non-negative whole number";
    }

    fn deserialize_f64<V: Visitor<'a>>(self, v: V) -> Result<V::Value, Error> {
        match &self.node.kind {
            Kind::Int { value, .. } => v.visit_f64(*value as f64),
            Kind::Float(text) => v.visit_f64(text.parse().unwrap_or(0.0)),
            _ => {
                self.mismatch("a number");
                v.visit_f64(0.0)
            }
        }
    }

    fn deserialize_f32<V: Visitor<'a>>(self, v: V) -> Result<V::Value, Error> {
        self.deserialize_f64(v)
    }

    fn deserialize_str<V: Visitor<'a>>(self, v: V) -> Result<V::Value, Error> {
        match &self.node.kind {
            Kind::Str(s) => v.visit_str(s),
            _ => {
                self.mismatch("a string");
                v.visit_str("")
            }
        }
    }

    fn deserialize_string<V: Visitor<'a>>(self, v: V) -> Result<V::Value, Error> {
        self.deserialize_str(v)
    }

    fn deserialize_char<V: Visitor<'a>>(self, v: V) -> Result<V::Value, Error> {
        self.deserialize_str(v)
    }

    fn deserialize_identifier<V: Visitor<'a>>(self, v: V) -> Result<V::Value, Error> {
        self.deserialize_str(v)
    }

    fn deserialize_option<V: Visitor<'a>>(self, v: V) -> Result<V::Value, Error> {
        match self.node.kind {
            Kind::Null => v.visit_none(),
            _ => v.visit_some(self),
        }
    }

    fn deserialize_unit<V: Visitor<'a>>(self, v: V) -> Result<V::Value, Error> {
        if self.node.kind != Kind::Null {
            self.mismatch("an empty value");
        }
        v.visit_unit()
    }

    fn deserialize_newtype_struct<V: Visitor<'a>>(
        self,
        name: &'static str,
        v: V,
    ) -> Result<V::Value, Error> {
        match (name, &self.node.kind) {
            (ID_OR_NAME, Kind::Int { .. }) => {
                self.int(0, u32::MAX as i128, "a user or group id", v)
            }
            (ID_OR_NAME, Kind::Str(s)) | (SCALAR_TEXT, Kind::Str(s)) => v.visit_str(s),
            (SCALAR_TEXT, Kind::Int { text, .. }) => v.visit_str(text),
            (ID_OR_NAME, _) => {
                self.mismatch("a number or a name");
                v.visit_str("")
            }
            (SCALAR_TEXT, _) => {
                self.mismatch("a string");
                v.visit_str("")
            }
            _ => v.visit_newtype_struct(self),
        }
    }

    fn deserialize_seq<V: Visitor<'a>>(self, v: V) -> Result<V::Value, Error> {
        self.seq(v)
    }

    fn deserialize_tuple<V: Visitor<'a>>(self, _len: usize, v: V) -> Result<V::Value, Error> {
        self.seq(v)
    }

    fn deserialize_map<V: Visitor<'a>>(self, v: V) -> Result<V::Value, Error> {
        self.map(None, v)
    }

    fn deserialize_struct<V: Visitor<'a>>(
        self,
        _name: &'static str,
        fields: &'static [&'static str],
        v: V,
    ) -> Result<V::Value, Error> {
        self.map(Some(fields), v)
    }

    fn deserialize_ignored_any<V: Visitor<'a>>(self, v: V) -> Result<V::Value, Error> {
        v.visit_unit()
    }

    serde::forward_to_deserialize_any! {
        <W: Visitor<'a>>
        i128 u128 bytes byte_buf unit_struct tuple_struct enum
    }
}
