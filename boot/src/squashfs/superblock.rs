//! The tables after the data, in the order the kernel's mount checks them
//! (each table must end where the next begins, the last at `bytes_used`),
//! and the superblock that points at them.

use std::io::{Seek, SeekFrom, Write};

use super::Compression;
use super::error::{Result, SquashfsError};
use super::metadata::{MetaPos, lookup_table};
use super::writer::Writer;

pub(crate) const SIZE: u64 = 96;
const MAGIC: u32 = 0x7371_7368;
const ZSTD: u16 = 6;
const NO_TABLE: u64 = u64::MAX;
/// Images are padded with zeros to a multiple of this, the page and
/// verity block size.
const PAD_TO: u64 = 4096;

/// Superblock flags.
const UNCOMPRESSED_INODES: u16 = 1 << 0;
const UNCOMPRESSED_DATA: u16 = 1 << 1;
const UNCOMPRESSED_FRAGMENTS: u16 = 1 << 3;
const EXPORTABLE: u16 = 1 << 7;
const UNCOMPRESSED_XATTRS: u16 = 1 << 8;
const NO_XATTRS: u16 = 1 << 9;
const UNCOMPRESSED_IDS: u16 = 1 << 11;

/// Puts the output at offset 0 and holds the superblock's place.
pub(crate) fn reserve<W: Write + Seek>(out: &mut W) -> Result<()> {
    let io = |source| SquashfsError::Io {
        path: "superblock".to_string(),
        source,
    };
    out.seek(SeekFrom::Start(0)).map_err(io)?;
    out.write_all(&[0; SIZE as usize]).map_err(io)
}

pub(crate) fn finish<W: Write + Seek>(w: Writer<W>, root: MetaPos) -> Result<(W, u64)> {
    let inodes = u32::try_from(w.export.len())
        .ok()
        .filter(|n| *n < u32::MAX)
        .ok_or_else(|| SquashfsError::TooLarge {
            path: String::new(),
            what: "inode count",
        })?;
    let compression = w.opts.compression;
    let has_xattrs = !w.xattrs.is_empty();
    let end = w.data.finish()?;
    let mut out = Out {
        out: end.out,
        pos: end.pos,
    };
    let inode_table_start = out.pos;
    out.put("inode table", &w.inodes.finish().0)?;
    let directory_table_start = out.pos;
    out.put("directory table", &w.dirs.finish().0)?;

    let fragment_table_start = if end.fragment_count == 0 {
        out.pos
    } else {
        out.table(compression, "fragment table", &end.fragments)?
    };
    let export: Vec<u8> = w.export.iter().flat_map(|r| r.to_le_bytes()).collect();
    let lookup_table_start = out.table(compression, "export table", &export)?;
    let id_table_start = out.table(compression, "id table", &w.ids.entries())?;
    let xattr_id_table_start = if has_xattrs {
        let (bytes, header_at) = w.xattrs.finish(out.pos);
        out.put("xattr table", &bytes)?;
        header_at
    } else {
        NO_TABLE
    };
    let bytes_used = out.pos;
    // Zeros also cover what dropped duplicates left past the tables.
    let padded = bytes_used.max(end.high).next_multiple_of(PAD_TO);
    out.zeros(padded - bytes_used)?;

    let mut flags = EXPORTABLE;
    if compression == Compression::None {
        flags |= UNCOMPRESSED_INODES
            | UNCOMPRESSED_DATA
            | UNCOMPRESSED_FRAGMENTS
            | UNCOMPRESSED_XATTRS
            | UNCOMPRESSED_IDS;
    }
    if !has_xattrs {
        flags |= NO_XATTRS;
    }
    let block_size = w.opts.block_size;
    let mut sb = Vec::with_capacity(SIZE as usize);
    for v in [MAGIC, inodes, w.opts.mtime, block_size, end.fragment_count] {
        sb.extend_from_slice(&v.to_le_bytes());
    }
    // Ids stay below 65535 (see `Ids::id`).
    let no_ids = w.ids.len() as u16;
    let block_log = block_size.trailing_zeros() as u16;
    for v in [ZSTD, block_log, flags, no_ids, 4, 0] {
        sb.extend_from_slice(&v.to_le_bytes());
    }
    for v in [
        root.reference(),
        bytes_used,
        id_table_start,
        xattr_id_table_start,
        inode_table_start,
        directory_table_start,
        fragment_table_start,
        lookup_table_start,
    ] {
        sb.extend_from_slice(&v.to_le_bytes());
    }
    let io = |source| SquashfsError::Io {
        path: "superblock".to_string(),
        source,
    };
    let mut out = out.out;
    out.seek(SeekFrom::Start(0)).map_err(io)?;
    out.write_all(&sb).map_err(io)?;
    out.seek(SeekFrom::Start(padded)).map_err(io)?;
    out.flush().map_err(io)?;
    Ok((out, padded))
}

/// The output and the absolute offset it is at.
struct Out<W> {
    out: W,
    pos: u64,
}

impl<W: Write> Out<W> {
    fn put(&mut self, what: &str, bytes: &[u8]) -> Result<()> {
        self.out
            .write_all(bytes)
            .map_err(|source| SquashfsError::Io {
                path: what.to_string(),
                source,
            })?;
        self.pos += bytes.len() as u64;
        Ok(())
    }

    fn zeros(&mut self, mut n: u64) -> Result<()> {
        let chunk = [0u8; 65536];
        while n > 0 {
            let k = n.min(chunk.len() as u64) as usize;
            self.put("padding", &chunk[..k])?;
            n -= k as u64;
        }
        Ok(())
    }

    /// Writes a lookup table here and returns where its index starts.
    fn table(&mut self, compression: Compression, what: &str, entries: &[u8]) -> Result<u64> {
        let (bytes, index_at) = lookup_table(compression, entries, self.pos);
        self.put(what, &bytes)?;
        Ok(index_at)
    }
}
