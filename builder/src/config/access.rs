//! The sequence and mapping accessors of the node deserializer, and the
//! "unknown key" message with its suggestion.

use serde::de::value::StrDeserializer;
use serde::de::{self, DeserializeSeed, IntoDeserializer};

use super::de::{Ctx, Error, NodeDe, join};
use super::diag::Pos;
use super::node::{Key, Node};

/// Records an error once, at the innermost node it concerns.
pub(super) fn noted<T>(
    r: Result<T, Error>,
    ctx: &Ctx<'_>,
    pos: Pos,
    path: &str,
) -> Result<T, Error> {
    r.map_err(|mut e| {
        if !e.reported {
            ctx.report(pos, path, e.message.clone());
            e.reported = true;
        }
        e
    })
}

pub(super) struct SeqDe<'a> {
    items: std::iter::Enumerate<std::slice::Iter<'a, Node>>,
    path: String,
    ctx: &'a Ctx<'a>,
}

impl<'a> SeqDe<'a> {
    pub(super) fn new(items: &'a [Node], path: String, ctx: &'a Ctx<'a>) -> SeqDe<'a> {
        SeqDe {
            items: items.iter().enumerate(),
            path,
            ctx,
        }
    }
}

impl<'a> de::SeqAccess<'a> for SeqDe<'a> {
    type Error = Error;

    fn next_element_seed<T: DeserializeSeed<'a>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, Error> {
        let Some((i, node)) = self.items.next() else {
            return Ok(None);
        };
        let path = format!("{}[{i}]", self.path);
        let de = NodeDe {
            node,
            path: path.clone(),
            ctx: self.ctx,
        };
        noted(seed.deserialize(de), self.ctx, node.pos, &path).map(Some)
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.items.len())
    }
}

pub(super) struct MapDe<'a> {
    entries: std::slice::Iter<'a, (Key, Node)>,
    value: Option<&'a (Key, Node)>,
    /// Known field names when the target is a struct; `None` for free maps.
    fields: Option<&'static [&'static str]>,
    path: String,
    ctx: &'a Ctx<'a>,
}

impl<'a> MapDe<'a> {
    pub(super) fn new(
        entries: &'a [(Key, Node)],
        fields: Option<&'static [&'static str]>,
        path: String,
        ctx: &'a Ctx<'a>,
    ) -> MapDe<'a> {
        MapDe {
            entries: entries.iter(),
            value: None,
            fields,
            path,
            ctx,
        }
    }
}

impl<'a> de::MapAccess<'a> for MapDe<'a> {
    type Error = Error;

    fn next_key_seed<K: DeserializeSeed<'a>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, Error> {
        for entry in self.entries.by_ref() {
            let key = &entry.0;
            if let Some(fields) = self.fields
                && !fields.contains(&key.text.as_str())
            {
                let path = join(&self.path, &key.text);
                self.ctx
                    .report(key.pos, &path, unknown_key(&key.text, fields));
                continue;
            }
            self.value = Some(entry);
            let de: StrDeserializer<'_, Error> = key.text.as_str().into_deserializer();
            return noted(seed.deserialize(de), self.ctx, key.pos, &self.path).map(Some);
        }
        Ok(None)
    }

    fn next_value_seed<V: DeserializeSeed<'a>>(&mut self, seed: V) -> Result<V::Value, Error> {
        let Some((key, node)) = self.value.take() else {
            return Err(de::Error::custom("value requested before its key"));
        };
        let path = join(&self.path, &key.text);
        let de = NodeDe {
            node,
            path: path.clone(),
            ctx: self.ctx,
        };
        noted(seed.deserialize(de), self.ctx, node.pos, &path)
    }
}

/// "unknown key" with the closest known key, or the list of known keys.
pub fn unknown_key(key: &str, fields: &[&str]) -> String {
    let lower = key.to_lowercase();
    let best = fields
        .iter()
        .map(|f| (strsim::jaro_winkler(&lower, &f.to_lowercase()), f))
        .max_by(|a, b| a.0.total_cmp(&b.0));
    match best {
        Some((score, f)) if score >= 0.8 => format!("unknown key `{key}`; did you mean `{f}`?"),
        _ if fields.len() <= 12 => format!(
            "unknown key `{key}`; expected one of: {}",
            fields
                .iter()
                .map(|f| format!("`{f}`"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        _ => format!("unknown key `{key}`"),
    }
}
