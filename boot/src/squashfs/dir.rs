//! Directory listings in the directory table: runs of entries behind a
//! header that carries what the run shares (the inode table block of their
//! inodes and a base inode number each entry is a signed 16-bit delta from).
//! A run holds at most 256 entries. A new run also starts where the listing
//! enters a new metadata block, and such runs get an index entry in the
//! directory inode, so a lookup reads only the block its name is in.

use super::inode::Kind;
use super::metadata::{METADATA_SIZE, MetaPos, MetadataWriter};

const MAX_RUN: usize = 256;
const HEADER_LEN: u64 = 12;
const ENTRY_LEN: u64 = 8;

/// A written inode as its parent directory lists it.
#[derive(Debug, Clone)]
pub(crate) struct Child {
    pub name: Vec<u8>,
    pub ino: u32,
    pub inode: MetaPos,
    pub kind: Kind,
}

/// Where a run that starts a metadata block sits, and its first name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct IndexEntry {
    /// Offset of the run's header from the start of the listing.
    pub index: u32,
    /// The metadata block the header is in, relative to the table.
    pub start_block: u32,
    pub name: Vec<u8>,
}

#[derive(Debug)]
pub(crate) struct Listing {
    pub start: MetaPos,
    /// Bytes of headers and entries.
    pub size: u64,
    pub index: Vec<IndexEntry>,
}

/// Appends the listing of `children` (sorted by name) to the directory
/// table. Fails with what overflowed when the inode table or the listing
/// outgrows the 32-bit fields that point into them.
pub(crate) fn write_listing(
    table: &mut MetadataWriter,
    children: &[Child],
) -> Result<Listing, &'static str> {
    let start = table.position();
    let mut size = 0u64;
    let mut index = Vec::new();
    let mut rest = children;
    while let Some(first) = rest.first() {
        let header_at = table.position();
        let block_of = |size: u64| (u64::from(start.offset) + size) / METADATA_SIZE as u64;
        let header_block = block_of(size);
        let mut run = 1;
        let mut end = size + HEADER_LEN + ENTRY_LEN + first.name.len() as u64;
        while let Some(next) = rest.get(run) {
            let delta = i64::from(next.ino) - i64::from(first.ino);
            if run == MAX_RUN
                || next.inode.block != first.inode.block
                || i16::try_from(delta).is_err()
                || block_of(end) != header_block
            {
                break;
            }
            end += ENTRY_LEN + next.name.len() as u64;
            run += 1;
        }
        let inode_block = u32::try_from(first.inode.block).map_err(|_| "inode table (4 GiB)")?;
        if header_at.block != start.block
            && index
                .last()
                .is_none_or(|e: &IndexEntry| u64::from(e.start_block) != header_at.block)
        {
            index.push(IndexEntry {
                index: u32::try_from(size).map_err(|_| "directory listing (4 GiB)")?,
                start_block: u32::try_from(header_at.block)
                    .map_err(|_| "directory table (4 GiB)")?,
                name: first.name.clone(),
            });
        }
        let mut bytes = Vec::with_capacity((end - size) as usize);
        bytes.extend_from_slice(&(run as u32 - 1).to_le_bytes());
        bytes.extend_from_slice(&inode_block.to_le_bytes());
        bytes.extend_from_slice(&first.ino.to_le_bytes());
        for child in &rest[..run] {
            // Checked above to fit in 16 bits, signed.
            let delta = (i64::from(child.ino) - i64::from(first.ino)) as i16;
            bytes.extend_from_slice(&child.inode.offset.to_le_bytes());
            bytes.extend_from_slice(&delta.to_le_bytes());
            bytes.extend_from_slice(&(child.kind as u16).to_le_bytes());
            // Names are 1 to 256 bytes; the writer checks.
            bytes.extend_from_slice(&(child.name.len() as u16 - 1).to_le_bytes());
            bytes.extend_from_slice(&child.name);
        }
        table.write(&bytes);
        size = end;
        rest = &rest[run..];
    }
    if size > u64::from(u32::MAX - 3) {
        return Err("directory listing (4 GiB)");
    }
    if index.len() > usize::from(u16::MAX) {
        return Err("directory index (65535 entries)");
    }
    Ok(Listing { start, size, index })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::squashfs::Compression;

    fn child(i: u32, block: u64) -> Child {
        Child {
            name: format!("entry-{i:05}").into_bytes(),
            ino: i + 2,
            inode: MetaPos {
                block,
                offset: (i % 100) as u16,
            },
            kind: Kind::File,
        }
    }

    /// (count, start block, base inode) of every header.
    fn headers(children: &[Child]) -> (Listing, Vec<(u32, u32, u32)>) {
        let mut table = MetadataWriter::new(Compression::None);
        let listing = write_listing(&mut table, children).expect("small listing");
        let (bytes, _) = table.finish();
        let mut data = Vec::new();
        for block in bytes.chunks(METADATA_SIZE + 2) {
            data.extend_from_slice(&block[2..]);
        }
        let word =
            |at: usize| u32::from_le_bytes([data[at], data[at + 1], data[at + 2], data[at + 3]]);
        let mut out = Vec::new();
        let mut at = 0;
        while at < listing.size as usize {
            let count = word(at) + 1;
            out.push((count, word(at + 4), word(at + 8)));
            at += 12;
            for _ in 0..count {
                let name_len = u16::from_le_bytes([data[at + 6], data[at + 7]]) as usize + 1;
                at += 8 + name_len;
            }
        }
        (listing, out)
    }

    #[test]
    fn runs_hold_at_most_256_entries_of_one_inode_block() {
        let mut children: Vec<Child> = (0..300).map(|i| child(i, 0)).collect();
        children.extend((300..310).map(|i| child(i, 8194)));
        let (listing, runs) = headers(&children);
        let counts: Vec<u32> = runs.iter().map(|r| r.0).collect();
        assert_eq!(counts.iter().sum::<u32>(), 310);
        assert!(counts.iter().all(|c| *c <= 256));
        assert_eq!(runs.last().map(|r| r.1), Some(8194));
        assert!(listing.index.is_empty(), "6 KiB of names fit one block");
    }

    #[test]
    fn a_run_that_starts_in_a_new_block_is_indexed_by_its_first_name() {
        let children: Vec<Child> = (0..1000).map(|i| child(i, 0)).collect();
        let (listing, _) = headers(&children);
        let blocks: Vec<u32> = listing.index.iter().map(|e| e.start_block).collect();
        assert_eq!(blocks, [8194, 2 * 8194]);
        for entry in &listing.index {
            let at = (u64::from(entry.index) + u64::from(listing.start.offset)) as usize;
            assert_eq!(at / METADATA_SIZE, entry.start_block as usize / 8194);
            assert!(entry.name.starts_with(b"entry-"));
        }
    }
}
