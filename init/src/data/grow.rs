//! Growing the data partition when the disk is larger than the image (an
//! image written to a real disk, a grown virtual disk): the table is
//! rewritten so the data partition, the last one, ends at the last whole MiB
//! before the backup table, and the kernel is told the new size.
//!
//! Only a table that is exactly what `cairn_boot::gpt` writes is rewritten:
//! encoding its partitions again must give the bytes read, so nothing of a
//! table some other tool changed is lost. The partition never shrinks and
//! never moves its start. The order of the writes keeps one whole copy of
//! the table at every moment (`TableSectors::rewrite_steps`); a boot after a
//! power loss in between reads the other copy and grows again.

use std::io;

use cairn_boot::gpt::{
    self, Rewrite, SECTOR, encode_table, last_aligned_lba, resize_protective_mbr,
};

use super::{Found, extent_bytes, size};
use crate::disk::find;
use crate::disk::gpt_scan::Origin;
use crate::sys::{BlockDevices, Files};

/// Why the table was not rewritten or the kernel kept the old size; the
/// partition is used at the size it had.
#[derive(Debug, thiserror::Error)]
pub enum GrowError {
    #[error("{part} is not the last partition of /dev/{disk}, so it keeps its size")]
    NotLast { part: String, disk: String },
    #[error(
        "the GPT of /dev/{disk} has {sector}-byte sectors and only 512-byte tables are \
         grown, so {part} keeps its size"
    )]
    SectorSize {
        disk: String,
        part: String,
        sector: u64,
    },
    #[error(
        "the GPT of /dev/{disk} is not laid out as cairn writes it ({why}), so it is left \
         as it is and {part} keeps its size"
    )]
    Foreign {
        disk: String,
        part: String,
        why: String,
    },
    #[error(
        "/dev/{disk} ({disk_bytes} bytes) is smaller than its GPT says ({table_bytes} \
         bytes); the table is left alone"
    )]
    Smaller {
        disk: String,
        disk_bytes: u64,
        table_bytes: u64,
    },
    #[error(
        "cannot write the {what} of the GPT of /dev/{disk}: {source}; the other copy \
         stays whole, {part} keeps its size and the next boot tries again"
    )]
    Write {
        what: &'static str,
        disk: String,
        part: String,
        #[source]
        source: io::Error,
    },
    #[error(
        "cannot flush /dev/{disk}: {source}; {part} keeps its size and the next boot \
         tries again"
    )]
    Flush {
        disk: String,
        part: String,
        #[source]
        source: io::Error,
    },
    #[error(
        "the GPT of /dev/{disk} now gives {part} {size}, but the kernel kept its old size \
         ({source}); the new size applies from the next boot"
    )]
    Kernel {
        disk: String,
        part: String,
        size: String,
        #[source]
        source: io::Error,
    },
}

/// What a rewrite did, in bytes of the data partition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Grown {
    pub from: u64,
    pub to: u64,
    /// The primary copy was torn and is whole again.
    pub repaired: bool,
}

/// Grows the data partition to the end of its disk, and rewrites a torn
/// primary table from its backup; None when neither is needed.
pub fn grow(
    sys: &mut (impl Files + BlockDevices),
    found: &Found,
) -> Result<Option<Grown>, GrowError> {
    let Found {
        disk,
        part,
        entry,
        table,
    } = found;
    let part = format!("/dev/{}", part.name);
    let Some(disk_bytes) = find::disk_bytes(sys, disk) else {
        return Ok(None);
    };
    let repair = table.origin == Origin::Backup;
    let new_last = last_aligned_lba(disk_bytes)
        .unwrap_or(0)
        .max(entry.last_lba);
    let grows = new_last > entry.last_lba;
    if !grows && !repair {
        return Ok(None);
    }
    if table.sector != SECTOR {
        return Err(GrowError::SectorSize {
            disk: disk.clone(),
            part,
            sector: table.sector,
        });
    }
    let last = table
        .parts
        .iter()
        .all(|p| p.slot == entry.slot || p.last_lba < entry.first_lba);
    if grows && !last {
        return Err(GrowError::NotLast {
            part,
            disk: disk.clone(),
        });
    }
    let foreign = |why: String| GrowError::Foreign {
        disk: disk.clone(),
        part: part.clone(),
        why,
    };
    let header = &table.header;
    let table_bytes = header
        .my_lba
        .max(header.alternate_lba)
        .checked_add(1)
        .and_then(|s| s.checked_mul(SECTOR))
        .ok_or_else(|| foreign("its backup LBA is beyond any disk".into()))?;
    if table_bytes > disk_bytes {
        return Err(GrowError::Smaller {
            disk: disk.clone(),
            disk_bytes,
            table_bytes,
        });
    }
    let old = encode_table(header.disk_guid, table_bytes, &table.parts)
        .map_err(|e| foreign(e.to_string()))?;
    let copy = match table.origin {
        Origin::Primary => &old.primary,
        Origin::Backup => &old.backup,
    };
    if copy.header[..] != table.header_sector[..] || copy.array != table.array {
        return Err(foreign(
            "its header or entries differ from the ones cairn writes".into(),
        ));
    }

    let mut parts = table.parts.clone();
    for p in parts.iter_mut().filter(|p| p.slot == entry.slot) {
        p.last_lba = new_last;
    }
    let sectors = disk_bytes / SECTOR;
    let new = encode_table(header.disk_guid, sectors * SECTOR, &parts)
        .map_err(|e| foreign(e.to_string()))?;
    let dev = format!("/dev/{disk}");
    let mut mbr = [0u8; SECTOR as usize];
    // A BIOS disk's MBR holds boot code: only its protective record's size
    // changes, and an MBR that cannot be read is left alone.
    let mbr = (find::read_exact(sys, &dev, 0, &mut mbr).is_ok()
        && resize_protective_mbr(&mut mbr, sectors))
    .then_some(mbr);
    for step in new.rewrite_steps(mbr.as_ref().map(|m| &m[..])) {
        match step {
            Rewrite::Write {
                what,
                offset,
                bytes,
            } => sys
                .write_at(&dev, offset, bytes)
                .map_err(|source| GrowError::Write {
                    what,
                    disk: disk.clone(),
                    part: part.clone(),
                    source,
                })?,
            Rewrite::Flush => sys.fsync(&dev).map_err(|source| GrowError::Flush {
                disk: disk.clone(),
                part: part.clone(),
                source,
            })?,
        }
    }

    let from = extent_bytes(entry, SECTOR);
    let to = extent_bytes(
        &gpt::Partition {
            last_lba: new_last,
            ..entry.clone()
        },
        SECTOR,
    );
    if grows {
        sys.resize_partition(&dev, entry.slot, entry.first_lba * SECTOR, to)
            .map_err(|source| GrowError::Kernel {
                disk: disk.clone(),
                part: part.clone(),
                size: size(to),
                source,
            })?;
    }
    Ok(Some(Grown {
        from,
        to,
        repaired: repair,
    }))
}

#[cfg(test)]
#[path = "grow_tests.rs"]
mod tests;
