//! Reading a GUID partition table back: the header after the protective MBR
//! and its entry array, both checked against their CRC32 so that a torn or
//! foreign table is never trusted. Any logical sector size; only the primary
//! table is read (a disk whose primary is damaged is refused, not repaired).

use crate::bytes::{le_u32, le_u64};
use std::io::{Read, Seek, SeekFrom};

use super::{GptError, Guid, HEADER_SIZE, Partition, crc32};

const SIGNATURE: &[u8; 8] = b"EFI PART";
/// Entries are at least this long; longer ones keep the same prefix.
const MIN_ENTRY: u32 = 128;
/// Far more than any real table (128 entries of 128 bytes is 16 KiB); bounds
/// what a damaged header can make a reader allocate.
pub const MAX_ENTRIES_BYTES: u64 = 1 << 20;
/// Logical sector sizes a disk may have (Linux allows 512 to 64 KiB).
const SECTOR_SIZES: std::ops::RangeInclusive<u64> = 512..=65536;

/// A checked GPT header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    pub my_lba: u64,
    pub alternate_lba: u64,
    pub first_usable: u64,
    /// Inclusive.
    pub last_usable: u64,
    pub disk_guid: Guid,
    pub entries_lba: u64,
    pub entries: u32,
    pub entry_size: u32,
    pub entries_crc: u32,
}

impl Header {
    /// Bytes of the entry array; at most [`MAX_ENTRIES_BYTES`] for a header
    /// that [`parse_header`] accepted.
    pub fn entries_bytes(&self) -> u64 {
        u64::from(self.entries) * u64::from(self.entry_size)
    }
}

fn guid_at(b: &[u8], at: usize) -> Guid {
    let mut v = [0u8; 16];
    if let Some(src) = b.get(at..at + 16) {
        v.copy_from_slice(src);
    }
    Guid(v)
}

/// Checks the header in `sector`, the whole logical sector after the MBR.
pub fn parse_header(sector: &[u8]) -> Result<Header, GptError> {
    let min = HEADER_SIZE as usize;
    if sector.len() < min || !sector.starts_with(SIGNATURE) {
        return Err(GptError::NoHeader {
            sector_size: sector.len(),
        });
    }
    let revision = le_u32(sector, 8).unwrap_or(0);
    if revision >> 16 != 1 {
        return Err(GptError::Revision { revision });
    }
    let size = le_u32(sector, 12).unwrap_or(0);
    let Some(covered) = usize::try_from(size)
        .ok()
        .filter(|s| (min..=sector.len()).contains(s))
        .and_then(|s| sector.get(..s))
    else {
        return Err(GptError::HeaderSize {
            size,
            sector_size: sector.len(),
        });
    };
    let mut copy = covered.to_vec();
    copy[16..20].fill(0);
    let (stored, computed) = (le_u32(sector, 16).unwrap_or(0), crc32(&copy));
    if stored != computed {
        return Err(GptError::HeaderCrc { stored, computed });
    }
    let header = Header {
        my_lba: le_u64(sector, 24).unwrap_or(0),
        alternate_lba: le_u64(sector, 32).unwrap_or(0),
        first_usable: le_u64(sector, 40).unwrap_or(0),
        last_usable: le_u64(sector, 48).unwrap_or(0),
        disk_guid: guid_at(sector, 56),
        entries_lba: le_u64(sector, 72).unwrap_or(0),
        entries: le_u32(sector, 80).unwrap_or(0),
        entry_size: le_u32(sector, 84).unwrap_or(0),
        entries_crc: le_u32(sector, 88).unwrap_or(0),
    };
    if header.entry_size < MIN_ENTRY || !header.entry_size.is_multiple_of(8) {
        return Err(GptError::EntrySize {
            size: header.entry_size,
        });
    }
    bounded(&header)?;
    if header.entries_lba < 2 {
        return Err(GptError::EntriesLba {
            lba: header.entries_lba,
        });
    }
    Ok(header)
}

fn bounded(header: &Header) -> Result<u64, GptError> {
    let bytes = header.entries_bytes();
    if bytes > MAX_ENTRIES_BYTES {
        return Err(GptError::EntriesTooLarge {
            entries: header.entries,
            entry_size: header.entry_size,
            max: MAX_ENTRIES_BYTES,
        });
    }
    Ok(bytes)
}

/// The used entries of the array `header` describes (its first
/// `entries_bytes()` bytes of `bytes`), in slot order, each with its 1-based
/// slot number; empty slots (type GUID all zero) are skipped.
pub fn parse_entries(bytes: &[u8], header: &Header) -> Result<Vec<Partition>, GptError> {
    // Checked again: a header need not come from `parse_header`.
    if header.entry_size < MIN_ENTRY {
        return Err(GptError::EntrySize {
            size: header.entry_size,
        });
    }
    let want = bounded(header)?;
    let array = usize::try_from(want)
        .ok()
        .and_then(|n| bytes.get(..n))
        .ok_or(GptError::EntriesShort {
            have: bytes.len(),
            want,
        })?;
    let computed = crc32(array);
    if computed != header.entries_crc {
        return Err(GptError::EntriesCrc {
            stored: header.entries_crc,
            computed,
        });
    }
    let mut parts = Vec::new();
    for (slot, e) in (1u32..).zip(array.chunks_exact(header.entry_size as usize)) {
        let type_guid = guid_at(e, 0);
        if type_guid == Guid::default() {
            continue;
        }
        let (first_lba, last_lba) = (le_u64(e, 32).unwrap_or(0), le_u64(e, 40).unwrap_or(0));
        if first_lba > last_lba || first_lba < header.first_usable || last_lba > header.last_usable
        {
            return Err(GptError::EntryExtent {
                slot,
                first: first_lba,
                last: last_lba,
                usable_first: header.first_usable,
                usable_last: header.last_usable,
            });
        }
        parts.push(Partition {
            slot,
            type_guid,
            unique_guid: guid_at(e, 16),
            name: name(&e[56..MIN_ENTRY as usize]),
            first_lba,
            last_lba,
            attrs: le_u64(e, 48).unwrap_or(0),
        });
    }
    Ok(parts)
}

/// UTF-16LE up to the first NUL; a name that is not valid UTF-16 is shown
/// with replacement characters rather than refused, as it only labels.
fn name(bytes: &[u8]) -> String {
    let units: Vec<u16> = bytes
        .chunks_exact(2)
        .map(|u| u16::from_le_bytes([u[0], u[1]]))
        .take_while(|&u| u != 0)
        .collect();
    String::from_utf16_lossy(&units)
}

/// Reads and checks the primary header and entry array of a disk with
/// `sector_size`-byte logical sectors.
pub fn read_table(
    disk: &mut (impl Read + Seek),
    sector_size: u64,
) -> Result<(Header, Vec<Partition>), GptError> {
    if !SECTOR_SIZES.contains(&sector_size) || !sector_size.is_power_of_two() {
        return Err(GptError::SectorSize { size: sector_size });
    }
    let mut read = |at: u64, len: u64, what: &'static str| {
        let mut buf = vec![0u8; len as usize];
        disk.seek(SeekFrom::Start(at))
            .and_then(|_| disk.read_exact(&mut buf))
            .map_err(|source| GptError::Read { what, source })?;
        Ok::<_, GptError>(buf)
    };
    let header = parse_header(&read(sector_size, sector_size, "header")?)?;
    let at = header
        .entries_lba
        .checked_mul(sector_size)
        .ok_or(GptError::EntriesLba {
            lba: header.entries_lba,
        })?;
    let entries = read(at, header.entries_bytes(), "entry array")?;
    let parts = parse_entries(&entries, &header)?;
    Ok((header, parts))
}

#[cfg(test)]
#[path = "gpt_read_tests.rs"]
mod tests;
