//! Reading a GUID partition table far enough to find a partition by its
//! unique GUID: the header at LBA 1 and the entry array, both checked
//! against their CRC32 so that a torn or foreign table is never trusted.

use std::fmt;

/// "EFI PART", the header signature.
const SIGNATURE: &[u8; 8] = b"EFI PART";
/// The header fields this reader uses end here (UEFI 2.x: 92 bytes).
const MIN_HEADER: usize = 92;
/// Entries are at least this long; longer ones keep the same prefix.
const MIN_ENTRY: usize = 128;
/// More entries than any real table has; bounds the bytes read.
pub const MAX_ENTRIES_BYTES: u64 = 1 << 20;

/// Why a disk's table was not used.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum GptError {
    #[error("no GPT header (the signature at LBA 1 is not \"EFI PART\")")]
    NoSignature,
    #[error("GPT header is damaged: its CRC32 does not match")]
    HeaderCrc,
    #[error("GPT partition entries are damaged: their CRC32 does not match")]
    EntriesCrc,
    #[error("GPT header is invalid: {0}")]
    Invalid(&'static str),
}

/// A 16-byte GUID as GPT stores it (the first three fields little-endian).
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Guid(pub [u8; 16]);

impl Guid {
    /// Parses the canonical text form, in either case.
    pub fn parse(text: &str) -> Option<Guid> {
        let groups: Vec<&str> = text.split('-').collect();
        let lens: Vec<usize> = groups.iter().map(|g| g.len()).collect();
        if lens != [8, 4, 4, 4, 12] {
            return None;
        }
        let hex = groups.concat();
        let mut canonical = [0u8; 16];
        for (i, byte) in canonical.iter_mut().enumerate() {
            let pair = hex.get(2 * i..2 * i + 2)?;
            *byte = u8::from_str_radix(pair, 16).ok()?;
        }
        // The text reads each field big-endian; GPT stores the first three
        // little-endian.
        let mut raw = canonical;
        raw[0..4].reverse();
        raw[4..6].reverse();
        raw[6..8].reverse();
        Some(Guid(raw))
    }
}

impl fmt::Display for Guid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let b = &self.0;
        write!(
            f,
            "{:02x}{:02x}{:02x}{:02x}-{:02x}{:02x}-{:02x}{:02x}-{:02x}{:02x}-",
            b[3], b[2], b[1], b[0], b[5], b[4], b[7], b[6], b[8], b[9]
        )?;
        b[10..].iter().try_for_each(|x| write!(f, "{x:02x}"))
    }
}

impl fmt::Debug for Guid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// Where a table's entries are, from a checked header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    pub entries_lba: u64,
    pub entry_count: u32,
    pub entry_size: u32,
    pub entries_crc: u32,
}

impl Header {
    /// Bytes of the entry array.
    pub fn entries_len(&self) -> u64 {
        u64::from(self.entry_count) * u64::from(self.entry_size)
    }
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    let mut v = [0u8; 4];
    v.copy_from_slice(&b[at..at + 4]);
    u32::from_le_bytes(v)
}

fn u64_at(b: &[u8], at: usize) -> u64 {
    let mut v = [0u8; 8];
    v.copy_from_slice(&b[at..at + 8]);
    u64::from_le_bytes(v)
}

/// Checks the header sector read from LBA 1.
pub fn parse_header(sector: &[u8]) -> Result<Header, GptError> {
    if sector.len() < MIN_HEADER || &sector[0..8] != SIGNATURE {
        return Err(GptError::NoSignature);
    }
    let size = u32_at(sector, 12) as usize;
    if !(MIN_HEADER..=sector.len()).contains(&size) {
        return Err(GptError::Invalid("header size out of range"));
    }
    let mut copy = sector[..size].to_vec();
    copy[16..20].fill(0);
    if crc32(&copy) != u32_at(sector, 16) {
        return Err(GptError::HeaderCrc);
    }
    let header = Header {
        entries_lba: u64_at(sector, 72),
        entry_count: u32_at(sector, 80),
        entry_size: u32_at(sector, 84),
        entries_crc: u32_at(sector, 88),
    };
    if (header.entry_size as usize) < MIN_ENTRY || !header.entry_size.is_multiple_of(8) {
        return Err(GptError::Invalid(
            "partition entry size is not a multiple of 8 from 128",
        ));
    }
    if header.entries_len() > MAX_ENTRIES_BYTES {
        return Err(GptError::Invalid("partition entry array larger than 1 MiB"));
    }
    if header.entries_lba < 2 {
        return Err(GptError::Invalid("partition entries overlap the header"));
    }
    Ok(header)
}

/// The 1-based number of the partition whose unique GUID is `wanted`, from
/// the entry array `header` describes.
pub fn find_partition(
    header: &Header,
    entries: &[u8],
    wanted: &Guid,
) -> Result<Option<u32>, GptError> {
    let len = usize::try_from(header.entries_len())
        .map_err(|_| GptError::Invalid("partition entry array too large"))?;
    let entries = entries
        .get(..len)
        .ok_or(GptError::Invalid("partition entry array cut short"))?;
    if crc32(entries) != header.entries_crc {
        return Err(GptError::EntriesCrc);
    }
    let found = entries
        .chunks_exact(header.entry_size as usize)
        .position(|e| e[16..32] == wanted.0 && e[0..16] != [0; 16]);
    Ok(found.and_then(|i| u32::try_from(i + 1).ok()))
}

/// CRC-32 as GPT uses it (IEEE 802.3, reflected, as zlib computes it).
pub fn crc32(data: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &byte in data {
        crc ^= u32::from(byte);
        for _ in 0..8 {
            let mask = (crc & 1).wrapping_neg();
            crc = (crc >> 1) ^ (0xEDB8_8320 & mask);
        }
    }
    !crc
}

#[cfg(test)]
#[path = "gpt_scan_tests.rs"]
pub mod tests;
