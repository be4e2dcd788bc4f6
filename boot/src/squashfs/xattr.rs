//! Extended attributes. Each distinct set is written once into the xattr
//! metadata stream as (type, name without prefix, value) records; inodes
//! carry a 32-bit id that the xattr id table maps to the set's place.
//!
//! Layout, placed after every other table:
//! `[sets' blocks][id entries' blocks][xattr_table_start, ids, 0][index]`;
//! the superblock points at the header, and the index must end the image.

use std::collections::BTreeMap;

use super::Compression;
use super::error::{Result, SquashfsError};
use super::metadata::MetadataWriter;

/// Name prefixes and the type codes that stand for them.
const PREFIXES: [(&str, u16); 3] = [("user.", 0), ("trusted.", 1), ("security.", 2)];
/// Linux's XATTR_NAME_MAX and XATTR_SIZE_MAX.
const NAME_MAX: usize = 255;
const VALUE_MAX: usize = 65536;

/// One set, canonical: sorted by full name.
type Set = Vec<(String, Vec<u8>)>;

#[derive(Debug)]
pub(crate) struct XattrTable {
    compression: Compression,
    sets: MetadataWriter,
    /// 16 bytes per id: reference, count, size.
    ids: Vec<u8>,
    known: BTreeMap<Set, u32>,
}

impl XattrTable {
    pub fn new(compression: Compression) -> XattrTable {
        XattrTable {
            compression,
            sets: MetadataWriter::new(compression),
            ids: Vec::new(),
            known: BTreeMap::new(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    /// The id of `xattrs` (written now if new), or `None` for no xattrs.
    pub fn add(&mut self, path: &str, xattrs: &[(&str, &[u8])]) -> Result<Option<u32>> {
        if xattrs.is_empty() {
            return Ok(None);
        }
        let mut set: Set = xattrs
            .iter()
            .map(|(name, value)| (name.to_string(), value.to_vec()))
            .collect();
        set.sort();
        let bad = |name: &str, reason| SquashfsError::BadXattr {
            path: path.to_string(),
            name: name.to_string(),
            reason,
        };
        for pair in set.windows(2) {
            if pair[0].0 == pair[1].0 {
                return Err(bad(&pair[0].0, "it is given twice"));
            }
        }
        if let Some(id) = self.known.get(&set) {
            return Ok(Some(*id));
        }
        let mut bytes = Vec::new();
        for (name, value) in &set {
            let (prefix, kind) = PREFIXES
                .iter()
                .find(|(prefix, _)| name.starts_with(prefix))
                .ok_or_else(|| {
                    bad(
                        name,
                        "squashfs stores only user.*, trusted.* and security.*",
                    )
                })?;
            let short = &name[prefix.len()..];
            if short.is_empty() || name.len() > NAME_MAX || name.contains('\0') {
                return Err(bad(
                    name,
                    "the name must be 1 to 255 bytes after its prefix, without NUL",
                ));
            }
            if value.len() > VALUE_MAX {
                return Err(bad(name, "the value is longer than 65536 bytes"));
            }
            bytes.extend_from_slice(&kind.to_le_bytes());
            bytes.extend_from_slice(&(short.len() as u16).to_le_bytes());
            bytes.extend_from_slice(short.as_bytes());
            bytes.extend_from_slice(&(value.len() as u32).to_le_bytes());
            bytes.extend_from_slice(value);
        }
        let id = u32::try_from(self.known.len())
            .ok()
            .filter(|id| *id != u32::MAX)
            .ok_or_else(|| SquashfsError::TooLarge {
                path: path.to_string(),
                what: "xattr id table",
            })?;
        let at = self.sets.position().reference();
        self.sets.write(&bytes);
        self.ids.extend_from_slice(&at.to_le_bytes());
        self.ids
            .extend_from_slice(&(set.len() as u32).to_le_bytes());
        // At most 256 names of 64 KiB: far below 4 GiB.
        self.ids
            .extend_from_slice(&(bytes.len() as u32).to_le_bytes());
        self.known.insert(set, id);
        Ok(Some(id))
    }

    /// The tables' bytes placed at absolute offset `at`, and the offset of
    /// the header the superblock points at.
    pub fn finish(self, at: u64) -> (Vec<u8>, u64) {
        let count = self.known.len() as u32;
        let (mut bytes, _) = self.sets.finish();
        let ids_at = at + bytes.len() as u64;
        let mut ids = MetadataWriter::new(self.compression);
        ids.write(&self.ids);
        let (id_blocks, starts) = ids.finish();
        bytes.extend_from_slice(&id_blocks);
        let header_at = at + bytes.len() as u64;
        bytes.extend_from_slice(&at.to_le_bytes());
        bytes.extend_from_slice(&count.to_le_bytes());
        bytes.extend_from_slice(&0u32.to_le_bytes());
        for start in starts {
            bytes.extend_from_slice(&(ids_at + start).to_le_bytes());
        }
        (bytes, header_at)
    }
}
