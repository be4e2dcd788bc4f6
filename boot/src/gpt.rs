//! GUID partition tables (UEFI specification, chapter 5): a protective MBR,
//! the primary header at LBA 1 with a 128-entry array at LBA 2, and the
//! backup array and header at the end of the disk. 512-byte sectors;
//! partitions start on 1 MiB boundaries.
//!
//! Only the table is written here; the caller writes each partition's
//! contents at `first_lba * 512`. Entries are placed in the slot the caller
//! names, so a disk can leave slots empty for partitions added later (cairn
//! keeps 3 and 4 free for an A/B root and a data partition).
//!
//! Reproducible: nothing is random; [`guid_from`] derives GUIDs from content.
//! Reading a table back (any sector size, CRCs checked) is [`read_table`];
//! replacing one in place on a live disk, [`TableSectors::rewrite_steps`].

use std::collections::BTreeSet;
use std::io::{self, Seek, SeekFrom, Write};

#[path = "gpt_guid.rs"]
mod guid;
#[path = "gpt_read.rs"]
mod read;
#[path = "gpt_rewrite.rs"]
mod rewrite;

pub use guid::{BIOS_BOOT, ESP, Guid, GuidError, LINUX_DATA, ROOT_ARM64, ROOT_X86_64, guid_from};
pub use read::{Header, MAX_ENTRIES_BYTES, parse_entries, parse_header, read_table};
pub use rewrite::{Rewrite, TableCopy, TableSectors, last_aligned_lba, resize_protective_mbr};

pub const SECTOR: u64 = 512;
/// Partition alignment in bytes.
pub const ALIGN: u64 = 1 << 20;
/// Entries in the partition array.
pub const SLOTS: u32 = 128;
const ENTRY_SIZE: usize = 128;
const ARRAY_SECTORS: u64 = SLOTS as u64 * ENTRY_SIZE as u64 / SECTOR;
/// MBR, header and array at the start; the same minus the MBR at the end.
const FIRST_USABLE: u64 = 2 + ARRAY_SECTORS;
/// The header's bytes that its CRC covers (UEFI 2.x).
const HEADER_SIZE: u32 = 92;
/// UTF-16 code units in a partition name.
const NAME_UNITS: usize = 36;
/// The header revision this module writes (1.0); readers accept any 1.x.
const REVISION: u32 = 0x0001_0000;

/// Partition attribute: firmware must not touch the partition.
pub const ATTR_REQUIRED: u64 = 1;
/// Legacy BIOS bootable: the partition a BIOS boot loader starts from.
pub const ATTR_LEGACY_BIOS_BOOTABLE: u64 = 1 << 2;
/// Partition attribute (Discoverable Partitions Specification): mount read-only.
pub const ATTR_READ_ONLY: u64 = 1 << 60;
/// Partition attribute (Discoverable Partitions Specification): do not mount automatically.
pub const ATTR_NO_AUTO: u64 = 1 << 63;

/// One partition entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Partition {
    /// The entry's number, 1 to 128, as `sgdisk -i` and `/dev/vdaN` count.
    pub slot: u32,
    pub type_guid: Guid,
    pub unique_guid: Guid,
    /// At most 36 UTF-16 code units.
    pub name: String,
    pub first_lba: u64,
    /// Inclusive.
    pub last_lba: u64,
    pub attrs: u64,
}

impl Partition {
    /// Byte offset and size on a disk with 512-byte sectors; None when a
    /// (hostile) entry's numbers overflow.
    pub fn byte_range(&self) -> Option<(u64, u64)> {
        let start = self.first_lba.checked_mul(SECTOR)?;
        let sectors = self.last_lba.checked_sub(self.first_lba)?.checked_add(1)?;
        Some((start, sectors.checked_mul(SECTOR)?))
    }
}

/// Sectors of one partition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Extent {
    pub first_lba: u64,
    /// Inclusive.
    pub last_lba: u64,
}

impl Extent {
    /// Where the partition's contents start in the disk image.
    pub fn offset(&self) -> u64 {
        self.first_lba * SECTOR
    }

    pub fn bytes(&self) -> u64 {
        (self.last_lba + 1 - self.first_lba) * SECTOR
    }
}

/// Partitions placed one after another from 1 MiB, each rounded up to
/// whole MiB, and the disk size with 1 MiB after them for the backup table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layout {
    pub extents: Vec<Extent>,
    pub disk_bytes: u64,
}

impl Layout {
    pub fn new(sizes: &[u64]) -> Result<Layout, GptError> {
        let mut at = ALIGN;
        let mut extents = Vec::with_capacity(sizes.len());
        for (index, &size) in sizes.iter().enumerate() {
            let len = size
                .checked_next_multiple_of(ALIGN)
                .filter(|&l| l > 0)
                .ok_or(GptError::PartitionSize { index, size })?;
            let end = at
                .checked_add(len)
                .ok_or(GptError::PartitionSize { index, size })?;
            extents.push(Extent {
                first_lba: at / SECTOR,
                last_lba: end / SECTOR - 1,
            });
            at = end;
        }
        let disk_bytes = at.checked_add(ALIGN).ok_or(GptError::PartitionSize {
            index: sizes.len(),
            size: u64::MAX,
        })?;
        Ok(Layout {
            extents,
            disk_bytes,
        })
    }
}

#[derive(Debug, thiserror::Error)]
pub enum GptError {
    #[error(
        "partition {index} of the layout has size {size}; give a size above 0 that fits a disk"
    )]
    PartitionSize { index: usize, size: u64 },
    #[error(
        "disk of {bytes} bytes cannot hold a GPT; it must be a multiple of 512 bytes and at \
         least {min} bytes"
    )]
    DiskSize { bytes: u64, min: u64 },
    #[error(
        "partition {name:?} is in slot {slot}; slots run from 1 to 128 and each holds one partition"
    )]
    Slot { name: String, slot: u32 },
    #[error(
        "partition {name:?} spans sectors {first}..={last}; it must lie within the usable \
         sectors {usable_first}..={usable_last}"
    )]
    Extent {
        name: String,
        first: u64,
        last: u64,
        usable_first: u64,
        usable_last: u64,
    },
    #[error("partitions {a:?} and {b:?} overlap; give them disjoint sector ranges")]
    Overlap { a: String, b: String },
    #[error("partition name {name:?} is longer than 36 UTF-16 units; shorten it")]
    Name { name: String },
    #[error("cannot write the {what} of the partition table")]
    Io {
        what: &'static str,
        #[source]
        source: io::Error,
    },
    #[error("cannot read the {what} of the partition table")]
    Read {
        what: &'static str,
        #[source]
        source: io::Error,
    },
    #[error(
        "no GPT header: the {sector_size}-byte sector after the protective MBR does not start \
         with \"EFI PART\"; the disk has no GPT or another sector size"
    )]
    NoHeader { sector_size: usize },
    #[error("GPT header revision {revision:#010x} is not 1.x; this reader knows only UEFI's 1.0")]
    Revision { revision: u32 },
    #[error(
        "GPT header claims {size} bytes; it must be at least 92 and fit its {sector_size}-byte \
         sector (damaged table: repair it with `sgdisk -v`)"
    )]
    HeaderSize { size: u32, sector_size: usize },
    #[error(
        "GPT header is damaged: its CRC32 is {stored:#010x} but its bytes give \
         {computed:#010x}; repair the table (`sgdisk -v`) or rebuild the disk"
    )]
    HeaderCrc { stored: u32, computed: u32 },
    #[error(
        "GPT entries are {size} bytes each; UEFI requires a multiple of 8 from 128 \
         (damaged or foreign table)"
    )]
    EntrySize { size: u32 },
    #[error(
        "GPT header describes {entries} entries of {entry_size} bytes, more than the \
         {max} bytes any real table needs; the header is damaged"
    )]
    EntriesTooLarge {
        entries: u32,
        entry_size: u32,
        max: u64,
    },
    #[error(
        "GPT entry array at LBA {lba} is outside the disk (before LBA 2 or beyond any disk); \
         the header is damaged"
    )]
    EntriesLba { lba: u64 },
    #[error("a sector size of {size} bytes is not a power of two from 512 to 65536")]
    SectorSize { size: u64 },
    #[error("GPT entry array is cut short: {have} bytes given, the header describes {want}")]
    EntriesShort { have: usize, want: u64 },
    #[error(
        "GPT entry array is damaged: its CRC32 is {computed:#010x} but the header records \
         {stored:#010x}; repair the table (`sgdisk -v`) or rebuild the disk"
    )]
    EntriesCrc { stored: u32, computed: u32 },
    #[error(
        "GPT entry {slot} spans sectors {first}..={last}, not a range within the usable \
         sectors {usable_first}..={usable_last}; the table is damaged"
    )]
    EntryExtent {
        slot: u32,
        first: u64,
        last: u64,
        usable_first: u64,
        usable_last: u64,
    },
}

/// Writes the protective MBR, the primary and the backup GPT for a disk of
/// `disk_bytes` bytes holding `parts`.
pub fn write_table(
    disk: &mut (impl Write + Seek),
    disk_guid: Guid,
    disk_bytes: u64,
    parts: &[Partition],
) -> Result<(), GptError> {
    let table = encode_table(disk_guid, disk_bytes, parts)?;
    let mut at = |lba: u64, what: &'static str, bytes: &[u8]| {
        disk.seek(SeekFrom::Start(lba * SECTOR))
            .and_then(|_| disk.write_all(bytes))
            .map_err(|source| GptError::Io { what, source })
    };
    let (p, b) = (&table.primary, &table.backup);
    at(0, "protective MBR", &table.mbr)?;
    at(p.header_lba, "primary header", &p.header)?;
    at(p.array_lba, "primary entry array", &p.array)?;
    at(b.array_lba, "backup entry array", &b.array)?;
    at(b.header_lba, "backup header", &b.header)?;
    Ok(())
}

/// The sectors [`write_table`] writes, for a caller that writes them in its
/// own order (see [`TableSectors::rewrite_steps`]).
pub fn encode_table(
    disk_guid: Guid,
    disk_bytes: u64,
    parts: &[Partition],
) -> Result<TableSectors, GptError> {
    let sectors = check(disk_bytes, parts)?;
    let array = entry_array(parts)?;
    let array_crc = crc32(&array);
    let last = sectors - 1;
    let backup_array = last - ARRAY_SECTORS;
    let header = |mine: u64, other: u64, array_lba: u64| {
        let mut h = [0u8; SECTOR as usize];
        h[0..8].copy_from_slice(b"EFI PART");
        h[8..12].copy_from_slice(&REVISION.to_le_bytes());
        h[12..16].copy_from_slice(&HEADER_SIZE.to_le_bytes());
        h[24..32].copy_from_slice(&mine.to_le_bytes());
        h[32..40].copy_from_slice(&other.to_le_bytes());
        h[40..48].copy_from_slice(&FIRST_USABLE.to_le_bytes());
        h[48..56].copy_from_slice(&(backup_array - 1).to_le_bytes());
        h[56..72].copy_from_slice(&disk_guid.0);
        h[72..80].copy_from_slice(&array_lba.to_le_bytes());
        h[80..84].copy_from_slice(&SLOTS.to_le_bytes());
        h[84..88].copy_from_slice(&(ENTRY_SIZE as u32).to_le_bytes());
        h[88..92].copy_from_slice(&array_crc.to_le_bytes());
        let crc = crc32(&h[..HEADER_SIZE as usize]);
        h[16..20].copy_from_slice(&crc.to_le_bytes());
        h
    };
    Ok(TableSectors {
        mbr: protective_mbr(sectors),
        primary: TableCopy {
            header_lba: 1,
            header: header(1, last, 2),
            array_lba: 2,
            array: array.clone(),
        },
        backup: TableCopy {
            header_lba: last,
            header: header(last, 1, backup_array),
            array_lba: backup_array,
            array,
        },
    })
}

/// Checks sizes, slots, names and extents; returns the disk's sector count.
fn check(disk_bytes: u64, parts: &[Partition]) -> Result<u64, GptError> {
    let min = (2 * FIRST_USABLE) * SECTOR;
    if !disk_bytes.is_multiple_of(SECTOR) || disk_bytes < min {
        return Err(GptError::DiskSize {
            bytes: disk_bytes,
            min,
        });
    }
    let sectors = disk_bytes / SECTOR;
    let usable_last = sectors - FIRST_USABLE;
    let mut slots = BTreeSet::new();
    for p in parts {
        if !(1..=SLOTS).contains(&p.slot) || !slots.insert(p.slot) {
            return Err(GptError::Slot {
                name: p.name.clone(),
                slot: p.slot,
            });
        }
        if p.first_lba < FIRST_USABLE || p.last_lba > usable_last || p.first_lba > p.last_lba {
            return Err(GptError::Extent {
                name: p.name.clone(),
                first: p.first_lba,
                last: p.last_lba,
                usable_first: FIRST_USABLE,
                usable_last,
            });
        }
    }
    let mut by_start: Vec<&Partition> = parts.iter().collect();
    by_start.sort_by_key(|p| p.first_lba);
    for pair in by_start.windows(2) {
        if pair[1].first_lba <= pair[0].last_lba {
            return Err(GptError::Overlap {
                a: pair[0].name.clone(),
                b: pair[1].name.clone(),
            });
        }
    }
    Ok(sectors)
}

fn entry_array(parts: &[Partition]) -> Result<Vec<u8>, GptError> {
    let mut array = vec![0u8; SLOTS as usize * ENTRY_SIZE];
    for p in parts {
        let units: Vec<u16> = p.name.encode_utf16().collect();
        if units.len() > NAME_UNITS {
            return Err(GptError::Name {
                name: p.name.clone(),
            });
        }
        let start = (p.slot as usize - 1) * ENTRY_SIZE;
        let e = &mut array[start..start + ENTRY_SIZE];
        e[0..16].copy_from_slice(&p.type_guid.0);
        e[16..32].copy_from_slice(&p.unique_guid.0);
        e[32..40].copy_from_slice(&p.first_lba.to_le_bytes());
        e[40..48].copy_from_slice(&p.last_lba.to_le_bytes());
        e[48..56].copy_from_slice(&p.attrs.to_le_bytes());
        for (slot, unit) in e[56..].chunks_mut(2).zip(units) {
            slot.copy_from_slice(&unit.to_le_bytes());
        }
    }
    Ok(array)
}

/// One partition of type 0xEE covering the disk, so MBR-only tools see it
/// as in use.
fn protective_mbr(sectors: u64) -> [u8; SECTOR as usize] {
    let mut m = [0u8; SECTOR as usize];
    let e = &mut m[446..462];
    e[1..4].copy_from_slice(&[0x00, 0x02, 0x00]); // CHS of LBA 1
    e[4] = 0xee;
    e[5..8].copy_from_slice(&[0xff, 0xff, 0xff]); // CHS beyond reach
    e[8..12].copy_from_slice(&1u32.to_le_bytes());
    let size = u32::try_from(sectors - 1).unwrap_or(u32::MAX);
    e[12..16].copy_from_slice(&size.to_le_bytes());
    m[510] = 0x55;
    m[511] = 0xaa;
    m
}

/// CRC-32 (IEEE 802.3, reflected, as GPT and zip use it).
pub fn crc32(data: &[u8]) -> u32 {
    !data.iter().fold(!0u32, |crc, &b| {
        CRC_TABLE[((crc ^ b as u32) & 0xff) as usize] ^ (crc >> 8)
    })
}

const CRC_TABLE: [u32; 256] = {
    let mut table = [0u32; 256];
    let mut i = 0;
    while i < 256 {
        let mut c = i as u32;
        let mut k = 0;
        while k < 8 {
            c = if c & 1 != 0 {
                0xedb8_8320 ^ (c >> 1)
            } else {
                c >> 1
            };
            k += 1;
        }
        table[i] = c;
        i += 1;
    }
    table
};

#[cfg(test)]
#[path = "gpt_tests.rs"]
mod tests;
