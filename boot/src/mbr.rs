//! The MBR partition table: what the Raspberry Pi's boot ROM and firmware
//! read (the Pi 3 knows nothing else), written for a fixed set of primary
//! partitions and read back by the init, which finds the root by the
//! kernel's MBR PARTUUID (`SSSSSSSS-PP`: the disk signature and the
//! partition's number).
//!
//! Layout of sector 0: boot code (zeros here; the Pi does not run it), the
//! 32-bit disk signature at byte 440, four 16-byte entries from byte 446
//! and the `55 AA` boot signature at 510. Entries are addressed by LBA; the
//! CHS fields hold the "beyond reach" marker every modern reader ignores.

use std::fmt;
use std::io::{self, Seek, SeekFrom, Write};

use crate::bytes::le_u32;

pub const SECTOR: u64 = 512;
/// FAT32 addressed by LBA: what the Pi firmware looks for.
pub const FAT32_LBA: u8 = 0x0c;
/// The FAT types the Pi firmware boots from: FAT32 (CHS, LBA), FAT16 (LBA).
pub const FAT_TYPES: [u8; 3] = [0x0b, FAT32_LBA, 0x0e];
/// A Linux filesystem.
pub const LINUX: u8 = 0x83;
/// The type a GPT disk's protective entry has.
pub const PROTECTIVE: u8 = 0xee;

const ENTRIES_AT: usize = 446;
const SIGNATURE_AT: usize = 440;

/// One primary partition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Entry {
    /// 1 to 4, as the kernel numbers it.
    pub number: u8,
    pub kind: u8,
    pub bootable: bool,
    pub first_lba: u32,
    pub sectors: u32,
}

impl Entry {
    pub fn offset(&self) -> u64 {
        u64::from(self.first_lba) * SECTOR
    }

    pub fn bytes(&self) -> u64 {
        u64::from(self.sectors) * SECTOR
    }
}

/// A table read back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Table {
    pub disk_signature: u32,
    /// The used entries, by number.
    pub entries: Vec<Entry>,
}

impl Table {
    /// Whether it is a GPT disk's protective MBR rather than a real table.
    pub fn is_protective(&self) -> bool {
        self.entries.iter().any(|e| e.kind == PROTECTIVE)
    }

    /// A Raspberry Pi card's boot partition: partition 1, typed FAT, in a
    /// real table (not a GPT's protective MBR).
    pub fn boot_fat(&self) -> Option<&Entry> {
        if self.is_protective() {
            return None;
        }
        (self.entries.iter()).find(|e| e.number == 1 && FAT_TYPES.contains(&e.kind))
    }
}

/// A partition's PARTUUID as the kernel shows an MBR partition's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PartUuid {
    pub disk_signature: u32,
    pub number: u8,
}

impl PartUuid {
    /// Parses `SSSSSSSS-PP` (hex, any case).
    pub fn parse(text: &str) -> Option<PartUuid> {
        let (sig, num) = text.split_once('-')?;
        if sig.len() != 8 || num.len() != 2 {
            return None;
        }
        let disk_signature = u32::from_str_radix(sig, 16).ok()?;
        let number = u8::from_str_radix(num, 16).ok()?;
        (1..=4).contains(&number).then_some(PartUuid {
            disk_signature,
            number,
        })
    }
}

impl fmt::Display for PartUuid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:08x}-{:02x}", self.disk_signature, self.number)
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum MbrError {
    #[error("sector 0 is {len} bytes; an MBR needs 512")]
    Short { len: usize },
    #[error("sector 0 has no 55 AA boot signature: the disk has no partition table")]
    NoSignature,
    #[error("MBR partition {number} ends beyond 2 TiB, which MBR cannot address")]
    TooLarge { number: u8 },
    #[error("MBR partitions {a} and {b} overlap")]
    Overlap { a: u8, b: u8 },
    #[error("MBR partition number {number} is not 1 to 4")]
    BadNumber { number: u8 },
}

/// Writes sector 0 of `out` with `entries` (numbers 1 to 4, no overlaps).
pub fn write_table(
    out: &mut (impl Write + Seek),
    disk_signature: u32,
    entries: &[Entry],
) -> io::Result<()> {
    let sector = table_sector(disk_signature, entries)
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
    out.seek(SeekFrom::Start(0))?;
    out.write_all(&sector)
}

/// Sector 0 with `entries`.
pub fn table_sector(disk_signature: u32, entries: &[Entry]) -> Result<[u8; 512], MbrError> {
    for (i, a) in entries.iter().enumerate() {
        if !(1..=4).contains(&a.number) {
            return Err(MbrError::BadNumber { number: a.number });
        }
        if u64::from(a.first_lba) + u64::from(a.sectors) > u64::from(u32::MAX) {
            return Err(MbrError::TooLarge { number: a.number });
        }
        for b in &entries[i + 1..] {
            let a_end = u64::from(a.first_lba) + u64::from(a.sectors);
            let b_end = u64::from(b.first_lba) + u64::from(b.sectors);
            if a.number == b.number
                || (u64::from(a.first_lba) < b_end && u64::from(b.first_lba) < a_end)
            {
                return Err(MbrError::Overlap {
                    a: a.number,
                    b: b.number,
                });
            }
        }
    }
    let mut s = [0u8; 512];
    s[SIGNATURE_AT..SIGNATURE_AT + 4].copy_from_slice(&disk_signature.to_le_bytes());
    for e in entries {
        let at = ENTRIES_AT + 16 * usize::from(e.number - 1);
        let slot = &mut s[at..at + 16];
        slot[0] = if e.bootable { 0x80 } else { 0 };
        slot[1..4].copy_from_slice(&[0xfe, 0xff, 0xff]);
        slot[4] = e.kind;
        slot[5..8].copy_from_slice(&[0xfe, 0xff, 0xff]);
        slot[8..12].copy_from_slice(&e.first_lba.to_le_bytes());
        slot[12..16].copy_from_slice(&e.sectors.to_le_bytes());
    }
    s[510] = 0x55;
    s[511] = 0xaa;
    Ok(s)
}

/// Reads the table of sector 0; empty entries are left out.
pub fn parse(sector: &[u8]) -> Result<Table, MbrError> {
    if sector.len() < 512 {
        return Err(MbrError::Short { len: sector.len() });
    }
    if sector[510..512] != [0x55, 0xaa] {
        return Err(MbrError::NoSignature);
    }
    let disk_signature = le_u32(sector, SIGNATURE_AT).unwrap_or(0);
    let mut entries = Vec::new();
    for number in 1..=4u8 {
        let at = ENTRIES_AT + 16 * usize::from(number - 1);
        let slot = &sector[at..at + 16];
        let (first_lba, sectors) = (le_u32(slot, 8).unwrap_or(0), le_u32(slot, 12).unwrap_or(0));
        if slot[4] == 0 || sectors == 0 {
            continue;
        }
        entries.push(Entry {
            number,
            kind: slot[4],
            bootable: slot[0] & 0x80 != 0,
            first_lba,
            sectors,
        });
    }
    Ok(Table {
        disk_signature,
        entries,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn two() -> [Entry; 2] {
        [
            Entry {
                number: 1,
                kind: FAT32_LBA,
                bootable: true,
                first_lba: 2048,
                sectors: 2048 * 64,
            },
            Entry {
                number: 2,
                kind: LINUX,
                bootable: false,
                first_lba: 2048 * 65,
                sectors: 2048 * 10,
            },
        ]
    }

    #[test]
    fn a_written_table_reads_back_with_its_signature_and_entries() {
        let sector = table_sector(0x1234_abcd, &two()).unwrap();
        let table = parse(&sector).unwrap();
        assert_eq!(table.disk_signature, 0x1234_abcd);
        assert_eq!(table.entries, two().to_vec());
        assert!(!table.is_protective());
        assert_eq!(&sector[510..], &[0x55, 0xaa]);
    }

    #[test]
    fn overlapping_or_misnumbered_entries_are_refused() {
        let mut e = two();
        e[1].first_lba = 4000;
        assert_eq!(table_sector(1, &e), Err(MbrError::Overlap { a: 1, b: 2 }));
        let mut e = two();
        e[1].number = 5;
        assert_eq!(table_sector(1, &e), Err(MbrError::BadNumber { number: 5 }));
    }

    #[test]
    fn a_sector_without_the_boot_signature_is_no_table() {
        assert_eq!(parse(&[0u8; 512]), Err(MbrError::NoSignature));
        assert_eq!(parse(&[0u8; 12]), Err(MbrError::Short { len: 12 }));
    }

    #[test]
    fn partuuids_read_and_print_as_the_kernel_shows_them() {
        let p = PartUuid::parse("1234ABCD-02").unwrap();
        assert_eq!(p.disk_signature, 0x1234_abcd);
        assert_eq!(p.number, 2);
        assert_eq!(p.to_string(), "1234abcd-02");
        for bad in [
            "1234abcd-05",
            "1234abcd-2",
            "xyz",
            "6b1d3e2a-55c1-4f0e-9a57-0d2c3b4a5f61",
        ] {
            assert_eq!(PartUuid::parse(bad), None, "{bad}");
        }
    }
}
