//! Finding a partition by its unique GUID on a disk read by offset (through
//! `Sys::read_at` in the init). The table itself is checked by
//! `cairn_boot::gpt` (header and entry CRCs), so a torn or foreign table is
//! never trusted; this file only fetches the bytes at the disk's logical
//! sector size and looks the GUID up.

use std::io;

pub use cairn_boot::gpt::Guid;
use cairn_boot::gpt::{self, GptError};

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
}

/// The slot number (as the kernel numbers partitions) of the partition whose
/// unique GUID is `wanted`, on a disk with `sector`-byte logical sectors that
/// `read_at` fills buffers from.
pub fn partition_number(
    read_at: &mut impl FnMut(u64, &mut [u8]) -> io::Result<()>,
    sector: u64,
    wanted: &Guid,
) -> Result<Option<u32>, ScanError> {
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
    let header = gpt::parse_header(&fetch("header", sector, sector)?)?;
    let at = header
        .entries_lba
        .checked_mul(sector)
        .ok_or(GptError::EntriesLba {
            lba: header.entries_lba,
        })?;
    let entries = fetch("entry array", at, header.entries_bytes())?;
    let parts = gpt::parse_entries(&entries, &header)?;
    Ok(parts
        .iter()
        .find(|p| p.unique_guid == *wanted)
        .map(|p| p.slot))
}

#[cfg(test)]
#[path = "gpt_scan_tests.rs"]
pub mod tests;
