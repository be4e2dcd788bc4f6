//! Reading a disk's GPT by offset (through `Sys::read_at` in the init). The
//! table itself is checked by `cairn_boot::gpt` (header and entry CRCs), so
//! a torn or foreign table is never trusted; this file fetches the bytes at
//! the disk's logical sector size and, when the primary copy fails its CRC
//! (a power loss while the init rewrote it), takes the backup copy at the
//! disk's last LBA instead, as the kernel does.

use std::io;

pub use cairn_boot::gpt::Guid;
use cairn_boot::gpt::{self, GptError, Header, Partition};

/// Why a disk's table was not used; shown one line per disk.
#[derive(Debug, thiserror::Error)]
pub enum ScanError {
    #[error("{source}")]
    Gpt {
        #[from]
        source: GptError,
    },
    #[error("cannot read the GPT {what} at byte {offset}: {source}")]
    Read {
        what: &'static str,
        offset: u64,
        #[source]
        source: io::Error,
    },
    #[error("{primary}; the backup GPT at the disk's end is no better: {backup}")]
    BothCopies {
        primary: Box<ScanError>,
        backup: Box<ScanError>,
    },
}

impl ScanError {
    /// A copy that was whole once but is not now: torn by a rewrite.
    fn is_crc(&self) -> bool {
        matches!(
            self,
            ScanError::Gpt {
                source: GptError::HeaderCrc { .. } | GptError::EntriesCrc { .. }
            }
        )
    }
}

/// Which copy of the table was read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    Primary,
    Backup,
}

/// A checked table with the bytes it was read from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Table {
    pub header: Header,
    /// The header's whole sector.
    pub header_sector: Vec<u8>,
    /// The entry array, `header.entries_bytes()` long.
    pub array: Vec<u8>,
    /// The used entries, in slot order.
    pub parts: Vec<Partition>,
    pub origin: Origin,
    /// The logical sector size it was read at.
    pub sector: u64,
}

/// Reads the table of a disk with `sector`-byte logical sectors that
/// `read_at` fills buffers from. Only with the disk's size in sectors can
/// a torn primary fall back to the backup; without it the primary's error
/// is returned.
pub fn read_table(
    read_at: &mut impl FnMut(u64, &mut [u8]) -> io::Result<()>,
    sector: u64,
    disk_sectors: Option<u64>,
) -> Result<Table, ScanError> {
    let primary = match read_copy(read_at, sector, 1) {
        Ok(table) => return Ok(table),
        Err(e) if e.is_crc() => e,
        Err(e) => return Err(e),
    };
    let Some(last) = disk_sectors
        .and_then(|n| n.checked_sub(1))
        .filter(|&l| l > 2)
    else {
        return Err(primary);
    };
    let both = |backup| ScanError::BothCopies {
        primary: Box::new(primary),
        backup: Box::new(backup),
    };
    match read_copy(read_at, sector, last) {
        Ok(table) if table.header.my_lba == last && table.header.entries_lba < last => Ok(Table {
            origin: Origin::Backup,
            ..table
        }),
        Ok(table) => Err(both(
            GptError::EntriesLba {
                lba: table.header.entries_lba,
            }
            .into(),
        )),
        Err(backup) => Err(both(backup)),
    }
}

fn read_copy(
    read_at: &mut impl FnMut(u64, &mut [u8]) -> io::Result<()>,
    sector: u64,
    lba: u64,
) -> Result<Table, ScanError> {
    let mut fetch = |what: &'static str, offset: u64, len: u64| {
        let mut buf = vec![0u8; len as usize];
        read_at(offset, &mut buf)
            .map(|()| buf)
            .map_err(|source| ScanError::Read {
                what,
                offset,
                source,
            })
    };
    let header_at = lba
        .checked_mul(sector)
        .ok_or(GptError::EntriesLba { lba })?;
    let header_sector = fetch("header", header_at, sector)?;
    let header = gpt::parse_header(&header_sector)?;
    let at = header
        .entries_lba
        .checked_mul(sector)
        .ok_or(GptError::EntriesLba {
            lba: header.entries_lba,
        })?;
    // entries_bytes() is bounded by parse_header (MAX_ENTRIES_BYTES).
    let array = fetch("entry array", at, header.entries_bytes())?;
    let parts = gpt::parse_entries(&array, &header)?;
    Ok(Table {
        header,
        header_sector,
        array,
        parts,
        origin: Origin::Primary,
        sector,
    })
}

#[cfg(test)]
#[path = "gpt_scan_tests.rs"]
pub mod tests;
