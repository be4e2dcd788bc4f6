//! The verified root's disk, found again after the switch: the
//! device-mapper device named [`DM_NAME`], the one partition under it, the
//! whole disk holding that partition and the disk's GPT. The data partition
//! (`data/`) and the ESP (`bless/`) both sit on that disk, beside the root.

use crate::disk::DM_NAME;
use crate::disk::find::{self, SYS_BLOCK};
use crate::disk::gpt_scan::{ScanError, Table};
use crate::sys::Files;

/// Why the root's disk is not known.
#[derive(Debug, thiserror::Error)]
pub enum RootDiskError {
    #[error(
        "cannot tell the root's partition: {SYS_BLOCK}/{dm}/slaves lists {seen:?} \
         (one partition expected)"
    )]
    Slaves { dm: String, seen: Vec<String> },
    #[error(
        "the verified root /dev/{root} is a whole disk, not a partition, so no other \
         partition sits beside it; build a disk image (efi or bios) to have one"
    )]
    WholeDisk { root: String },
    #[error("cannot read the GPT of /dev/{disk}: {source}")]
    Table {
        disk: String,
        #[source]
        source: ScanError,
    },
}

/// The disk the verified root lives on.
#[derive(Debug)]
pub struct RootDisk {
    /// The whole disk, as sysfs names it (`vda`).
    pub disk: String,
    /// The root's partition under the device-mapper device (`vda2`).
    pub root: String,
    pub table: Table,
}

impl RootDisk {
    /// The GPT slot of the root's partition, as sysfs numbers it.
    pub fn root_slot(&self, sys: &mut impl Files) -> Option<u32> {
        sys.read_file(&format!("{SYS_BLOCK}/{}/partition", self.root))
            .ok()
            .and_then(|n| n.trim().parse::<u32>().ok())
    }
}

/// The `dm-N` whose device-mapper name is the verified root's; None when
/// the root is not a verified disk (kernel+squashfs, a whole-root UKI).
pub fn verified_root(sys: &mut impl Files) -> Option<String> {
    let names = sys.list_dir(SYS_BLOCK).ok()?;
    names
        .into_iter()
        .filter(|n| n.starts_with("dm-"))
        .find(|n| {
            sys.read_file(&format!("{SYS_BLOCK}/{n}/dm/name"))
                .is_ok_and(|name| name.trim() == DM_NAME)
        })
}

/// The disk and GPT of the one partition under the device-mapper device `dm`.
pub fn find(sys: &mut impl Files, dm: &str) -> Result<RootDisk, RootDiskError> {
    let seen = sys
        .list_dir(&format!("{SYS_BLOCK}/{dm}/slaves"))
        .unwrap_or_default();
    let [root] = seen.as_slice() else {
        return Err(RootDiskError::Slaves {
            dm: dm.into(),
            seen,
        });
    };
    let root = root.clone();
    let disk =
        find::disk_of(sys, &root).ok_or_else(|| RootDiskError::WholeDisk { root: root.clone() })?;
    let table = find::read_gpt(sys, &disk).map_err(|source| RootDiskError::Table {
        disk: disk.clone(),
        source,
    })?;
    Ok(RootDisk { disk, root, table })
}
