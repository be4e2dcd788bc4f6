//! Metadata blocks: a byte stream cut into 8 KiB pieces, each stored behind
//! a two-byte length whose top bit marks it uncompressed. Inodes, directory
//! listings and xattrs are addressed by (block start relative to their
//! table, offset in the uncompressed block), and may straddle blocks.

use super::Compression;
use super::compress::compress;

pub(crate) const METADATA_SIZE: usize = 8192;
const UNCOMPRESSED: u16 = 0x8000;

/// A place in a metadata stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct MetaPos {
    /// Where the block starts, relative to the start of its table.
    pub block: u64,
    /// Offset in the uncompressed block, below 8192.
    pub offset: u16,
}

impl MetaPos {
    /// The 48-bit reference inodes and xattr ids use.
    pub fn reference(self) -> u64 {
        (self.block << 16) | u64::from(self.offset)
    }
}

#[derive(Debug)]
pub(crate) struct MetadataWriter {
    compression: Compression,
    /// Finished blocks, headers included.
    done: Vec<u8>,
    /// The block being filled, always shorter than 8192 bytes.
    pending: Vec<u8>,
    /// Where each finished block starts in `done`.
    starts: Vec<u64>,
}

impl MetadataWriter {
    pub fn new(compression: Compression) -> MetadataWriter {
        MetadataWriter {
            compression,
            done: Vec::new(),
            pending: Vec::with_capacity(METADATA_SIZE),
            starts: Vec::new(),
        }
    }

    pub fn position(&self) -> MetaPos {
        MetaPos {
            block: self.done.len() as u64,
            // pending stays below METADATA_SIZE, so it fits.
            offset: self.pending.len() as u16,
        }
    }

    pub fn write(&mut self, mut bytes: &[u8]) {
        while !bytes.is_empty() {
            let take = bytes.len().min(METADATA_SIZE - self.pending.len());
            self.pending.extend_from_slice(&bytes[..take]);
            bytes = &bytes[take..];
            if self.pending.len() == METADATA_SIZE {
                self.flush();
            }
        }
    }

    /// Stores the last, partial block and returns the table's bytes with
    /// the start of every block in it.
    pub fn finish(mut self) -> (Vec<u8>, Vec<u64>) {
        if !self.pending.is_empty() {
            self.flush();
        }
        (self.done, self.starts)
    }

    fn flush(&mut self) {
        self.starts.push(self.done.len() as u64);
        // Both lengths are at most 8192, below the flag bit.
        match compress(self.compression, &self.pending) {
            Some(packed) => {
                self.done
                    .extend_from_slice(&(packed.len() as u16).to_le_bytes());
                self.done.extend_from_slice(&packed);
            }
            None => {
                let header = self.pending.len() as u16 | UNCOMPRESSED;
                self.done.extend_from_slice(&header.to_le_bytes());
                self.done.extend_from_slice(&self.pending);
            }
        }
        self.pending.clear();
    }
}

/// A lookup table (fragments, export, ids, xattr ids) placed at absolute
/// offset `at`: its metadata blocks, then the index of their absolute
/// offsets, which the superblock points at. Returns (blocks followed by
/// index, offset of the index).
pub(crate) fn lookup_table(compression: Compression, entries: &[u8], at: u64) -> (Vec<u8>, u64) {
    let mut meta = MetadataWriter::new(compression);
    meta.write(entries);
    let (mut bytes, starts) = meta.finish();
    let index_at = at + bytes.len() as u64;
    for start in starts {
        bytes.extend_from_slice(&(at + start).to_le_bytes());
    }
    (bytes, index_at)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_count_compressed_blocks_and_uncompressed_offsets() {
        let mut meta = MetadataWriter::new(Compression::None);
        meta.write(&[7; 8000]);
        assert_eq!(
            meta.position(),
            MetaPos {
                block: 0,
                offset: 8000
            }
        );
        meta.write(&[7; 200]);
        assert_eq!(
            meta.position(),
            MetaPos {
                block: 8194,
                offset: 8
            }
        );
        let (bytes, starts) = meta.finish();
        assert_eq!(starts, [0, 8194]);
        assert_eq!(&bytes[..2], &(8192u16 | 0x8000).to_le_bytes());
        assert_eq!(&bytes[8194..8196], &(8u16 | 0x8000).to_le_bytes());
        assert_eq!(bytes.len(), 8194 + 10);
    }

    #[test]
    fn a_lookup_table_index_points_at_each_block_absolutely() {
        let entries = vec![1u8; 8192 + 16];
        let (bytes, index_at) = lookup_table(Compression::None, &entries, 1000);
        assert_eq!(index_at, 1000 + 8194 + 18);
        let index = &bytes[bytes.len() - 16..];
        assert_eq!(&index[..8], &1000u64.to_le_bytes());
        assert_eq!(&index[8..], &(1000u64 + 8194).to_le_bytes());
    }
}
