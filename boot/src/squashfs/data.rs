//! File data, streamed: full blocks are compressed and written as they are
//! read; the tail shorter than a block is packed with other files' tails
//! into fragment blocks. A block of zeros is stored as a hole (size 0), and
//! a block that does not shrink is stored as is, flagged uncompressed.
//!
//! Files with the same bytes share one copy: a file is hashed as it is
//! read, and when its hash matches an earlier file's, its inode points at
//! the earlier data. Its last batch of blocks (up to 8) is written
//! only after that check; blocks of a longer duplicate are already written,
//! so the output is rewound over them (later writes, or zeros at the end,
//! cover them).

use std::collections::BTreeMap;
use std::io::{self, Read, Seek, SeekFrom, Write};

use sha2::{Digest, Sha256};

use super::Compression;
use super::compress::compress;
use super::error::{Result, SquashfsError};
use super::inode::NO_FRAGMENT;

/// Set in a block or fragment size when the bytes are stored as is.
const UNCOMPRESSED: u32 = 1 << 24;
/// Full blocks read and compressed together (spread over the threads).
/// Fixed, not per thread: what a dropped duplicate leaves behind depends
/// on it, and the image must not depend on the machine.
const BATCH: u64 = 8;

/// Where a file's data went.
#[derive(Debug, Clone)]
pub(crate) struct Layout {
    pub start: u64,
    pub blocks: Vec<u32>,
    pub sparse: u64,
    pub fragment: u32,
    pub fragment_offset: u32,
}

#[derive(Debug)]
pub(crate) struct DataWriter<W> {
    out: W,
    pos: u64,
    compression: Compression,
    block_size: usize,
    threads: usize,
    /// The fragment block being filled.
    tails: Vec<u8>,
    /// Fragment table entries, 16 bytes each.
    fragments: Vec<u8>,
    fragment_count: u32,
    /// The furthest the output has been written, rewinds notwithstanding.
    high: u64,
    /// Stored files by size and sha256.
    seen: BTreeMap<(u64, [u8; 32]), Layout>,
}

/// What the data area left behind for the tables.
#[derive(Debug)]
pub(crate) struct DataEnd<W> {
    pub out: W,
    pub pos: u64,
    pub fragments: Vec<u8>,
    pub fragment_count: u32,
    /// The furthest the output was written; past `pos` if the last files
    /// were duplicates whose copies were dropped.
    pub high: u64,
}

impl<W: Write + Seek> DataWriter<W> {
    /// `out` is positioned at absolute offset `pos`.
    pub fn new(out: W, pos: u64, compression: Compression, block_size: usize) -> DataWriter<W> {
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get().min(4));
        DataWriter {
            out,
            pos,
            compression,
            block_size,
            threads,
            tails: Vec::with_capacity(block_size),
            fragments: Vec::new(),
            fragment_count: 0,
            high: pos,
            seen: BTreeMap::new(),
        }
    }

    /// Reads exactly `size` bytes of `path` from `data` and stores them.
    pub fn file(&mut self, path: &str, size: u64, data: &mut dyn Read) -> Result<Layout> {
        let bs = self.block_size as u64;
        let mut layout = Layout {
            start: self.pos,
            blocks: Vec::with_capacity(usize::try_from(size / bs).unwrap_or(0)),
            sparse: 0,
            fragment: NO_FRAGMENT,
            fragment_offset: 0,
        };
        let read_err = |source| SquashfsError::Read {
            path: path.to_string(),
            source,
        };
        let short = |got| SquashfsError::SizeMismatch {
            path: path.to_string(),
            expected: size,
            got,
        };
        let mut got = 0u64;
        let mut hash = Sha256::new();
        let mut full_left = size / bs;
        let mut batch: Vec<Vec<u8>> = Vec::new();
        // The last batch waits for the duplicate check, so a duplicate of
        // up to one batch is never written at all.
        let mut last_batch = 0;
        while full_left > 0 {
            let n = full_left.min(BATCH) as usize;
            batch.resize_with(n, || vec![0; self.block_size]);
            for block in &mut batch[..n] {
                let k = read_full(data, block).map_err(read_err)?;
                got += k as u64;
                if k < self.block_size {
                    return Err(short(got));
                }
            }
            for block in &batch[..n] {
                hash.update(block);
            }
            full_left -= n as u64;
            if full_left == 0 {
                last_batch = n;
            } else {
                self.blocks(path, &batch[..n], &mut layout)?;
            }
        }
        let mut tail = vec![0; (size % bs) as usize];
        let k = read_full(data, &mut tail).map_err(read_err)?;
        got += k as u64;
        if k < tail.len() {
            return Err(short(got));
        }
        let mut extra = [0u8; 1];
        if read_full(data, &mut extra).map_err(read_err)? != 0 {
            return Err(short(got + 1));
        }
        if size == 0 {
            return Ok(layout);
        }
        hash.update(&tail);
        let key = (size, hash.finalize().into());
        if let Some(earlier) = self.seen.get(&key) {
            let earlier = earlier.clone();
            self.rewind(path, layout.start)?;
            return Ok(earlier);
        }
        self.blocks(path, &batch[..last_batch], &mut layout)?;
        if !tail.is_empty() {
            if self.tails.len() + tail.len() > self.block_size {
                self.flush_fragment(path)?;
            }
            layout.fragment = self.fragment_count;
            // Below the block size, at most 1 MiB.
            layout.fragment_offset = self.tails.len() as u32;
            self.tails.extend_from_slice(&tail);
        }
        self.seen.insert(key, layout.clone());
        Ok(layout)
    }

    /// Writes the last fragment block and hands back the output.
    pub fn finish(mut self) -> Result<DataEnd<W>> {
        if !self.tails.is_empty() {
            self.flush_fragment("fragment block")?;
        }
        Ok(DataEnd {
            out: self.out,
            pos: self.pos,
            fragments: self.fragments,
            fragment_count: self.fragment_count,
            high: self.high,
        })
    }

    /// Drops what was written since `start`; later writes overwrite it.
    fn rewind(&mut self, path: &str, start: u64) -> Result<()> {
        if self.pos != start {
            self.out
                .seek(SeekFrom::Start(start))
                .map_err(|source| SquashfsError::Io {
                    path: path.to_string(),
                    source,
                })?;
            self.pos = start;
        }
        Ok(())
    }

    fn blocks(&mut self, path: &str, batch: &[Vec<u8>], layout: &mut Layout) -> Result<()> {
        let packed = compress_all(self.compression, batch, self.threads).ok_or_else(|| {
            SquashfsError::Worker {
                path: path.to_string(),
            }
        })?;
        for (raw, packed) in batch.iter().zip(packed) {
            match packed {
                Packed::Hole => {
                    layout.blocks.push(0);
                    layout.sparse += raw.len() as u64;
                }
                Packed::Compressed(bytes) => {
                    self.put(path, &bytes)?;
                    layout.blocks.push(bytes.len() as u32);
                }
                Packed::Raw => {
                    self.put(path, raw)?;
                    layout.blocks.push(raw.len() as u32 | UNCOMPRESSED);
                }
            }
        }
        Ok(())
    }

    fn flush_fragment(&mut self, path: &str) -> Result<()> {
        let count = self
            .fragment_count
            .checked_add(1)
            .filter(|c| *c != u32::MAX);
        let count = count.ok_or_else(|| SquashfsError::TooLarge {
            path: path.to_string(),
            what: "fragment table",
        })?;
        let start = self.pos;
        let tails = std::mem::take(&mut self.tails);
        let size = match compress(self.compression, &tails) {
            Some(bytes) => {
                self.put(path, &bytes)?;
                bytes.len() as u32
            }
            None => {
                self.put(path, &tails)?;
                tails.len() as u32 | UNCOMPRESSED
            }
        };
        self.tails = tails;
        self.tails.clear();
        self.fragments.extend_from_slice(&start.to_le_bytes());
        self.fragments.extend_from_slice(&size.to_le_bytes());
        self.fragments.extend_from_slice(&0u32.to_le_bytes());
        self.fragment_count = count;
        Ok(())
    }

    fn put(&mut self, path: &str, bytes: &[u8]) -> Result<()> {
        self.out
            .write_all(bytes)
            .map_err(|source| SquashfsError::Io {
                path: path.to_string(),
                source,
            })?;
        self.pos += bytes.len() as u64;
        self.high = self.high.max(self.pos);
        Ok(())
    }
}

#[derive(Debug)]
enum Packed {
    Hole,
    Compressed(Vec<u8>),
    Raw,
}

fn pack(compression: Compression, raw: &[u8]) -> Packed {
    if raw.iter().all(|b| *b == 0) {
        return Packed::Hole;
    }
    compress(compression, raw).map_or(Packed::Raw, Packed::Compressed)
}

/// Packs `blocks` on up to `threads` threads, results in input order.
/// `None` if a thread panicked.
fn compress_all(
    compression: Compression,
    blocks: &[Vec<u8>],
    threads: usize,
) -> Option<Vec<Packed>> {
    if threads <= 1 || blocks.len() <= 1 {
        return Some(blocks.iter().map(|b| pack(compression, b)).collect());
    }
    let per = blocks.len().div_ceil(threads);
    std::thread::scope(|scope| {
        let mut chunks = blocks.chunks(per);
        let mine = chunks.next().unwrap_or(&[]);
        let handles: Vec<_> = chunks
            .map(|chunk| {
                scope.spawn(move || {
                    chunk
                        .iter()
                        .map(|b| pack(compression, b))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        let mut out: Vec<Packed> = mine.iter().map(|b| pack(compression, b)).collect();
        for handle in handles {
            out.extend(handle.join().ok()?);
        }
        Some(out)
    })
}

/// Reads until `buf` is full or the reader ends; returns the bytes read.
fn read_full(data: &mut dyn Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match data.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}
