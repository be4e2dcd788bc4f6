//! The id table: inodes hold 16-bit indexes into a list of 32-bit uids and
//! gids, numbered in the order they are first used.

use std::collections::BTreeMap;

use super::error::{Result, SquashfsError};

#[derive(Debug, Default)]
pub(crate) struct Ids {
    order: Vec<u32>,
    index: BTreeMap<u32, u16>,
}

impl Ids {
    /// The index of `id`, added if new.
    pub fn id(&mut self, path: &str, id: u32) -> Result<u16> {
        if let Some(i) = self.index.get(&id) {
            return Ok(*i);
        }
        // The superblock counts ids in 16 bits, so 65535 is the most.
        let i = u16::try_from(self.order.len())
            .ok()
            .filter(|i| *i != u16::MAX)
            .ok_or_else(|| SquashfsError::TooManyIds {
                path: path.to_string(),
            })?;
        self.order.push(id);
        self.index.insert(id, i);
        Ok(i)
    }

    pub fn len(&self) -> usize {
        self.order.len()
    }

    /// The table's entries, 4 bytes each.
    pub fn entries(&self) -> Vec<u8> {
        self.order.iter().flat_map(|id| id.to_le_bytes()).collect()
    }
}
