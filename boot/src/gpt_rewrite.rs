//! A table as the sectors [`super::write_table`] writes, so that a table on
//! a live disk can be replaced in place (the init grows the data partition
//! when the disk is larger than the image): the new backup copy at the new
//! end first, flushed, then the primary array and the primary header that
//! vouches for it. A power loss at any moment leaves one whole copy, and
//! readers that fall back to the backup (the kernel, sgdisk, the init's
//! `gpt_scan`) find it.

use super::{ALIGN, FIRST_USABLE, SECTOR};

/// One copy of a table: its header sector and its entry array, each with
/// the LBA it belongs at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableCopy {
    pub header_lba: u64,
    pub header: [u8; SECTOR as usize],
    pub array_lba: u64,
    pub array: Vec<u8>,
}

/// Every sector of a table: the protective MBR and both copies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableSectors {
    pub mbr: [u8; SECTOR as usize],
    pub primary: TableCopy,
    pub backup: TableCopy,
}

/// One step of replacing a table in place.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rewrite<'a> {
    Write {
        what: &'static str,
        offset: u64,
        bytes: &'a [u8],
    },
    /// What was written so far must reach the medium before the next write
    /// (fsync on a block device).
    Flush,
}

impl TableSectors {
    /// The writes that replace the table on a disk in place, in an order
    /// that is safe against power loss. The table's own protective MBR is
    /// not written: a disk's MBR may hold boot code (a BIOS disk's hybrid
    /// MBR), so the caller passes the disk's MBR with its size changed by
    /// [`resize_protective_mbr`], or None to leave it alone. It goes last,
    /// as nothing reads the table through it.
    pub fn rewrite_steps<'a>(&'a self, mbr: Option<&'a [u8]>) -> Vec<Rewrite<'a>> {
        let at = |what, lba: u64, bytes| Rewrite::Write {
            what,
            offset: lba * SECTOR,
            bytes,
        };
        let (p, b) = (&self.primary, &self.backup);
        let mut steps = vec![
            at("backup entry array", b.array_lba, &b.array[..]),
            at("backup header", b.header_lba, &b.header[..]),
            Rewrite::Flush,
            // The header vouches for the array by its CRC: until the new
            // header lands, the old one fails against the new array and
            // readers take the backup just written.
            at("primary entry array", p.array_lba, &p.array[..]),
            at("primary header", p.header_lba, &p.header[..]),
        ];
        if let Some(mbr) = mbr {
            steps.push(at("protective MBR", 0, mbr));
        }
        steps.push(Rewrite::Flush);
        steps
    }
}

/// The last LBA of a partition that ends on a MiB boundary before the
/// backup table of a disk of `disk_bytes`: where [`super::Layout`] ends the
/// last partition, and where a grown last partition ends. None for a disk
/// too small for a table.
pub fn last_aligned_lba(disk_bytes: u64) -> Option<u64> {
    let per_mib = ALIGN / SECTOR;
    // The backup array and header take the last FIRST_USABLE - 1 sectors.
    let usable_end = (disk_bytes / SECTOR).checked_sub(FIRST_USABLE - 1)?;
    (usable_end / per_mib * per_mib)
        .checked_sub(1)
        .filter(|&last| last >= FIRST_USABLE)
}

/// Sets the size of the protective (type 0xEE) record of `mbr` to cover a
/// disk of `sectors`, leaving its boot code, signature and every other byte
/// as they are. False when `mbr` is no MBR with such a record.
pub fn resize_protective_mbr(mbr: &mut [u8], sectors: u64) -> bool {
    if mbr.get(510..512) != Some(&[0x55, 0xaa][..]) {
        return false;
    }
    let size = u32::try_from(sectors.saturating_sub(1)).unwrap_or(u32::MAX);
    for record in 0..4 {
        let at = 446 + 16 * record;
        if mbr[at + 4] == 0xee {
            mbr[at + 12..at + 16].copy_from_slice(&size.to_le_bytes());
            return true;
        }
    }
    false
}

#[cfg(test)]
#[path = "gpt_rewrite_tests.rs"]
mod tests;
