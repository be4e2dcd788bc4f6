//! The dm-verity hash area that pins the root filesystem: a veritysetup
//! superblock followed by the hash tree, in the format of the kernel's
//! `Documentation/admin-guide/device-mapper/verity.rst` (format version 1,
//! sha256, 4096-byte data and hash blocks, 32-byte salt fed before each
//! block).
//!
//! A cairn root partition holds the data (a squashfs image, whole 4096-byte
//! blocks) and right after it the hash area, so the hash area starts at byte
//! `data_bytes` of the partition: one 4096-byte block with the superblock,
//! then the tree levels, the level nearest the root first and the hashes of
//! the data blocks last, each hash block zero-padded.
//!
//! Reproducible: the salt is derived from the data, not drawn at random.
//! It is `sha256("cairn verity salt v1" || le64(data_bytes) || D0 || D1 ..)`
//! where `Dn` is the sha256 of the n-th 16 MiB segment of the data (the last
//! one shorter). Hashing segments lets every core work on the salt, and the
//! fixed segment size keeps the result independent of the core count. The
//! superblock's UUID is derived from the salt in the same way.

use std::fs::File;
use std::io::{self, Write};
use std::os::unix::fs::FileExt;

use sha2::{Digest, Sha256};

/// Data and hash block size in bytes.
pub const BLOCK: u64 = 4096;
const DIGEST: usize = 32;
/// Hashes per hash block (4096 / 32).
const PER_BLOCK: u64 = BLOCK / DIGEST as u64;
/// The data unit the salt is derived over.
const SALT_SEGMENT: u64 = 16 << 20;
/// Blocks a hashing thread reads at once.
const BATCH_BLOCKS: usize = 256;

#[derive(Debug, thiserror::Error)]
pub enum VerityError {
    #[error(
        "verity data is {bytes} bytes; it must be a non-zero multiple of 4096, so pad the \
         filesystem image to whole blocks"
    )]
    Unaligned { bytes: u64 },
    #[error(
        "cannot read the verity data at byte {offset} of its file; is the file shorter than \
         the size given or unreadable?"
    )]
    Read {
        offset: u64,
        #[source]
        source: io::Error,
    },
    #[error("cannot write the verity hash area")]
    Write {
        #[source]
        source: io::Error,
    },
    #[error("a verity hashing thread stopped unexpectedly; rerun, and report it if it repeats")]
    Worker,
}

/// A kernel command line without the verity words cairn-init expects.
#[derive(Debug, thiserror::Error)]
pub enum CmdlineError {
    #[error("kernel command line has no `{word}=` word; the disk was not built by cairn")]
    Missing { word: &'static str },
    #[error(
        "kernel command line word `{word}={value}` is malformed; expected \
         `roothash=<64 hex>` and `cairn.verity=<data blocks>,<hash start block>,<64 hex salt>`"
    )]
    Malformed { word: &'static str, value: String },
}

type Result<T> = std::result::Result<T, VerityError>;

/// Where the data and the tree are and what pins them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Params {
    pub data_blocks: u64,
    /// Byte offset of the superblock from the start of the partition.
    pub hash_offset: u64,
    pub salt: [u8; 32],
    pub root_hash: [u8; 32],
}

impl Params {
    /// The first hash-tree block, in 4096-byte blocks from the start of the
    /// partition: the block after the superblock.
    pub fn hash_start_block(&self) -> u64 {
        self.hash_offset / BLOCK + 1
    }

    /// The device-mapper table line for data and hash both on `device`.
    pub fn table(&self, device: &str) -> String {
        format!(
            "0 {} verity 1 {device} {device} {BLOCK} {BLOCK} {} {} sha256 {} {}",
            self.data_blocks * (BLOCK / 512),
            self.data_blocks,
            self.hash_start_block(),
            hex::encode(self.root_hash),
            hex::encode(self.salt),
        )
    }

    /// The kernel command line words cairn-init reads:
    /// `roothash=<hex> cairn.verity=<data_blocks>,<hash_start_block>,<salt_hex>`.
    pub fn cmdline(&self) -> String {
        format!(
            "roothash={} cairn.verity={},{},{}",
            hex::encode(self.root_hash),
            self.data_blocks,
            self.hash_start_block(),
            hex::encode(self.salt),
        )
    }

    /// Finds the words [`Params::cmdline`] writes in a whole kernel command line.
    pub fn from_cmdline(line: &str) -> std::result::Result<Params, CmdlineError> {
        // The last occurrence wins, as with the kernel's own parameters.
        let word = |name: &'static str| {
            line.split_whitespace()
                .filter_map(|w| w.strip_prefix(name)?.strip_prefix('='))
                .next_back()
                .ok_or(CmdlineError::Missing { word: name })
        };
        let (root, verity) = (word("roothash")?, word("cairn.verity")?);
        let malformed = |name: &'static str, value: &str| CmdlineError::Malformed {
            word: name,
            value: value.to_string(),
        };
        let root_hash = parse_hex32(root).ok_or_else(|| malformed("roothash", root))?;
        let mut parts = verity.split(',');
        let parsed = (|| {
            let data_blocks = parts.next()?.parse::<u64>().ok()?;
            let hash_start = parts.next()?.parse::<u64>().ok()?;
            let salt = parse_hex32(parts.next()?)?;
            let hash_offset = hash_start.checked_sub(1)?.checked_mul(BLOCK)?;
            let valid = parts.next().is_none() && data_blocks > 0;
            valid.then_some((data_blocks, hash_offset, salt))
        })();
        let (data_blocks, hash_offset, salt) =
            parsed.ok_or_else(|| malformed("cairn.verity", verity))?;
        Ok(Params {
            data_blocks,
            hash_offset,
            salt,
            root_hash,
        })
    }
}

fn parse_hex32(s: &str) -> Option<[u8; 32]> {
    let mut out = [0u8; 32];
    hex::decode_to_slice(s, &mut out).ok()?;
    Some(out)
}

/// Bytes of the hash area (superblock block plus tree) for `data_bytes` of data.
pub fn hash_area_size(data_bytes: u64) -> u64 {
    BLOCK + level_sizes(data_bytes / BLOCK).iter().sum::<u64>() * BLOCK
}

/// Blocks in each tree level, the hashes of the data blocks first. Empty
/// for a single data block, whose own hash is the root, as the kernel and
/// veritysetup count levels.
fn level_sizes(data_blocks: u64) -> Vec<u64> {
    let mut sizes = Vec::new();
    let mut blocks = data_blocks;
    while blocks > 1 {
        blocks = blocks.div_ceil(PER_BLOCK);
        sizes.push(blocks);
    }
    sizes
}

/// A hasher that has already taken the salt, cloned for every block.
fn salted(salt: &[u8; 32]) -> Sha256 {
    let mut h = Sha256::new();
    h.update(salt);
    h
}

/// The tree levels in on-disk order (without the superblock) and the root
/// hash, computed from the hashes of the data blocks (`level0`, one digest per
/// data block, padded with zeros to whole hash blocks).
fn finish_tree(
    level0: Vec<u8>,
    data_blocks: u64,
    first_block: &[u8],
    salt: &[u8; 32],
) -> (Vec<Vec<u8>>, [u8; 32]) {
    let base = salted(salt);
    let sizes = level_sizes(data_blocks);
    if sizes.is_empty() {
        return (Vec::new(), base.chain_update(first_block).finalize().into());
    }
    let mut levels = vec![level0];
    for &size in &sizes[1..] {
        let below = levels.last().map(Vec::as_slice).unwrap_or_default();
        let mut level = vec![0u8; (size * BLOCK) as usize];
        for (block, slot) in below.chunks(BLOCK as usize).zip(level.chunks_mut(DIGEST)) {
            slot.copy_from_slice(&base.clone().chain_update(block).finalize());
        }
        levels.push(level);
    }
    let top = levels.last().map(Vec::as_slice).unwrap_or_default();
    let root = base.chain_update(top).finalize().into();
    levels.reverse();
    (levels, root)
}

/// The hash tree (on-disk order, no superblock) and root hash of `data`, in
/// memory and on one thread; [`build`] is the same over a file.
pub fn tree(data: &[u8], salt: &[u8; 32]) -> Result<(Vec<u8>, [u8; 32])> {
    let data_blocks = check_size(data.len() as u64)?;
    let base = salted(salt);
    let mut level0 = vec![0u8; (level0_blocks(data_blocks) * BLOCK) as usize];
    for (block, slot) in data.chunks(BLOCK as usize).zip(level0.chunks_mut(DIGEST)) {
        slot.copy_from_slice(&base.clone().chain_update(block).finalize());
    }
    let first = data.get(..BLOCK as usize).unwrap_or_default();
    let (levels, root) = finish_tree(level0, data_blocks, first, salt);
    Ok((levels.concat(), root))
}

fn check_size(bytes: u64) -> Result<u64> {
    if bytes == 0 || !bytes.is_multiple_of(BLOCK) {
        return Err(VerityError::Unaligned { bytes });
    }
    Ok(bytes / BLOCK)
}

fn level0_blocks(data_blocks: u64) -> u64 {
    data_blocks.div_ceil(PER_BLOCK)
}

/// Builds the hash area for `data_bytes` bytes of `data` starting at byte
/// `data_start`, with the salt derived from the data (see the module
/// docs), and writes it to `out`, which the caller places right after the
/// data in the partition.
pub fn build(
    data: &File,
    data_start: u64,
    data_bytes: u64,
    out: &mut impl Write,
) -> Result<Params> {
    let salt = content_salt(data, data_start, data_bytes)?;
    build_with_salt(data, data_start, data_bytes, &salt, out)
}

/// [`build`] with a salt of the caller's choosing.
pub fn build_with_salt(
    data: &File,
    data_start: u64,
    data_bytes: u64,
    salt: &[u8; 32],
    out: &mut impl Write,
) -> Result<Params> {
    let data_blocks = check_size(data_bytes)?;
    let mut level0 = vec![0u8; (level0_blocks(data_blocks) * BLOCK) as usize];
    let base = salted(salt);
    let digests = &mut level0[..data_blocks as usize * DIGEST];
    in_parallel(data_blocks, digests, |first, slots| {
        let mut buf = vec![0u8; BATCH_BLOCKS * BLOCK as usize];
        let mut block = first;
        for batch in slots.chunks_mut(BATCH_BLOCKS * DIGEST) {
            let bytes = &mut buf[..batch.len() / DIGEST * BLOCK as usize];
            read_at(data, data_start + block * BLOCK, bytes)?;
            for (chunk, slot) in bytes.chunks(BLOCK as usize).zip(batch.chunks_mut(DIGEST)) {
                slot.copy_from_slice(&base.clone().chain_update(chunk).finalize());
            }
            block += (batch.len() / DIGEST) as u64;
        }
        Ok(())
    })?;
    let mut first = vec![0u8; BLOCK as usize];
    read_at(data, data_start, &mut first)?;
    let (levels, root_hash) = finish_tree(level0, data_blocks, &first, salt);
    let params = Params {
        data_blocks,
        hash_offset: data_bytes,
        salt: *salt,
        root_hash,
    };
    let write = |out: &mut dyn Write| -> io::Result<()> {
        out.write_all(&superblock(&params))?;
        levels.iter().try_for_each(|level| out.write_all(level))
    };
    write(out).map_err(|source| VerityError::Write { source })?;
    Ok(params)
}

/// The salt [`build`] uses for this data.
pub fn content_salt(data: &File, data_start: u64, data_bytes: u64) -> Result<[u8; 32]> {
    check_size(data_bytes)?;
    let segments = data_bytes.div_ceil(SALT_SEGMENT);
    let mut digests = vec![0u8; segments as usize * DIGEST];
    in_parallel(segments, &mut digests, |first, slots| {
        let mut buf = vec![0u8; BATCH_BLOCKS * BLOCK as usize];
        for (n, slot) in (first..).zip(slots.chunks_mut(DIGEST)) {
            let (start, end) = (n * SALT_SEGMENT, ((n + 1) * SALT_SEGMENT).min(data_bytes));
            let mut h = Sha256::new();
            let mut at = start;
            while at < end {
                let len = (end - at).min(buf.len() as u64) as usize;
                read_at(data, data_start + at, &mut buf[..len])?;
                h.update(&buf[..len]);
                at += len as u64;
            }
            slot.copy_from_slice(&h.finalize());
        }
        Ok(())
    })?;
    let mut h = Sha256::new();
    h.update(b"cairn verity salt v1");
    h.update(data_bytes.to_le_bytes());
    h.update(&digests);
    Ok(h.finalize().into())
}

fn read_at(data: &File, offset: u64, buf: &mut [u8]) -> Result<()> {
    data.read_exact_at(buf, offset)
        .map_err(|source| VerityError::Read { offset, source })
}

/// Splits `items` (each owning 32 bytes of `out`) into one contiguous run
/// per core and runs `work(first_item, its_slots)` on each.
fn in_parallel<F>(items: u64, out: &mut [u8], work: F) -> Result<()>
where
    F: Fn(u64, &mut [u8]) -> Result<()> + Sync,
{
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get()) as u64;
    let per_thread = items.div_ceil(cores).max(1);
    let work = &work;
    std::thread::scope(|scope| {
        let handles: Vec<_> = out
            .chunks_mut(per_thread as usize * DIGEST)
            .enumerate()
            .map(|(i, slots)| scope.spawn(move || work(i as u64 * per_thread, slots)))
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or(Err(VerityError::Worker)))
            .collect::<Result<Vec<()>>>()
    })?;
    Ok(())
}

/// The UUID veritysetup shows for the hash area, derived from the salt.
pub fn uuid(salt: &[u8; 32]) -> [u8; 16] {
    let digest = Sha256::new()
        .chain_update(b"cairn verity uuid v1")
        .chain_update(salt)
        .finalize();
    let mut uuid = [0u8; 16];
    uuid.copy_from_slice(&digest[..16]);
    // RFC 9562 version 8 (custom) and the RFC variant.
    uuid[6] = (uuid[6] & 0x0f) | 0x80;
    uuid[8] = (uuid[8] & 0x3f) | 0x80;
    uuid
}

/// The superblock padded to one hash block; integers little-endian, the
/// UUID in text order.
fn superblock(p: &Params) -> Vec<u8> {
    let mut sb = vec![0u8; BLOCK as usize];
    sb[0..8].copy_from_slice(b"verity\0\0");
    sb[8..12].copy_from_slice(&1u32.to_le_bytes()); // superblock version
    sb[12..16].copy_from_slice(&1u32.to_le_bytes()); // hash type: normal, salt first
    sb[16..32].copy_from_slice(&uuid(&p.salt));
    sb[32..38].copy_from_slice(b"sha256");
    sb[64..68].copy_from_slice(&(BLOCK as u32).to_le_bytes());
    sb[68..72].copy_from_slice(&(BLOCK as u32).to_le_bytes());
    sb[72..80].copy_from_slice(&p.data_blocks.to_le_bytes());
    sb[80..82].copy_from_slice(&(p.salt.len() as u16).to_le_bytes());
    sb[88..120].copy_from_slice(&p.salt);
    sb
}

#[cfg(test)]
#[path = "verity_tests.rs"]
mod tests;
