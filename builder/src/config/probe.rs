//! Test helper: a deserializer that walks the schema types instead of a file
//! and records every key path they accept, so tests can check that fixtures
//! and the reference documentation cover the whole schema.

use std::cell::RefCell;
use std::collections::BTreeSet;

use serde::de::value::{Error, StrDeserializer};
use serde::de::{self, DeserializeSeed, IntoDeserializer, Visitor};

use super::de::join;
use super::node::{Kind, Node};
use super::schema::RawConfig;

/// Every key path of the schema, lists written as `[]`; the three container
/// sections share the prefix `image[]`.
pub fn schema_paths() -> BTreeSet<String> {
    let out = RefCell::new(BTreeSet::new());
    let probe = Probe {
        path: String::new(),
        out: &out,
    };
    let _ = <RawConfig as de::Deserialize>::deserialize(probe);
    out.into_inner()
}

/// Every key path used in a node tree, in the same notation.
pub fn node_paths(node: &Node) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut stack = vec![(node, String::new())];
    while let Some((node, path)) = stack.pop() {
        match &node.kind {
            Kind::Map(entries) => {
                for (k, v) in entries {
                    let p = normalize(&join(&path, &k.text));
                    out.insert(p.clone());
                    stack.push((v, p));
                }
            }
            Kind::Seq(items) => items
                .iter()
                .for_each(|n| stack.push((n, format!("{path}[]")))),
            _ => {}
        }
    }
    out
}

fn normalize(path: &str) -> String {
    for section in ["onboot[]", "onshutdown[]", "services[]"] {
        if let Some(rest) = path.strip_prefix(section) {
            return format!("image[]{rest}");
        }
    }
    path.to_string()
}

struct Probe<'a> {
    path: String,
    out: &'a RefCell<BTreeSet<String>>,
}

impl<'de> de::Deserializer<'de> for Probe<'_> {
    type Error = Error;

    fn deserialize_any<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Error> {
        v.visit_u64(0)
    }
    fn deserialize_bool<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Error> {
        v.visit_bool(false)
    }
    fn deserialize_str<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Error> {
        v.visit_str("x")
    }
    fn deserialize_string<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Error> {
        v.visit_str("x")
    }
    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        v: V,
    ) -> Result<V::Value, Error> {
        v.visit_str("x")
    }
    fn deserialize_option<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Error> {
        v.visit_some(self)
    }
    fn deserialize_seq<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Error> {
        let item = Probe {
            path: format!("{}[]", self.path),
            out: self.out,
        };
        v.visit_seq(ProbeAccess {
            keys: vec![],
            item: Some(item),
            out: self.out,
            path: self.path,
        })
    }
    fn deserialize_map<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Error> {
        v.visit_map(ProbeAccess {
            keys: vec!["*"],
            item: None,
            out: self.out,
            path: self.path,
        })
    }
    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        fields: &'static [&'static str],
        v: V,
    ) -> Result<V::Value, Error> {
        for f in fields {
            self.out
                .borrow_mut()
                .insert(normalize(&join(&self.path, f)));
        }
        v.visit_map(ProbeAccess {
            keys: fields.iter().rev().copied().collect(),
            item: None,
            out: self.out,
            path: self.path,
        })
    }

    serde::forward_to_deserialize_any! {
        i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char bytes byte_buf
        unit unit_struct tuple tuple_struct enum identifier ignored_any
    }
}

struct ProbeAccess<'a> {
    keys: Vec<&'static str>,
    item: Option<Probe<'a>>,
    out: &'a RefCell<BTreeSet<String>>,
    path: String,
}

impl<'de> de::SeqAccess<'de> for ProbeAccess<'_> {
    type Error = Error;
    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, Error> {
        self.item.take().map(|p| seed.deserialize(p)).transpose()
    }
}

impl<'de> de::MapAccess<'de> for ProbeAccess<'_> {
    type Error = Error;
    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, Error> {
        let Some(key) = self.keys.last().copied() else {
            return Ok(None);
        };
        let de: StrDeserializer<'_, Error> = key.into_deserializer();
        seed.deserialize(de).map(Some)
    }
    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, Error> {
        let key = self.keys.pop().unwrap_or("*");
        seed.deserialize(Probe {
            path: normalize(&join(&self.path, key)),
            out: self.out,
        })
    }
}
